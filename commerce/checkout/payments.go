// Package checkout joins the order store (commerce/postgres) and WeChat Pay
// (commerce/wechatpay): paying an order, recording verified notifies,
// closing payments before stock is released (and noticing when one was in
// fact paid), and sending queued refunds.
package checkout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/commerce/wechatpay"
)

// Payments pays orders with WeChat Pay.
type Payments struct {
	orders *postgres.Orders
	pay    *wechatpay.Client
	log    *slog.Logger
}

// NewPayments returns Payments over the order store and the WeChat Pay
// client.
func NewPayments(orders *postgres.Orders, pay *wechatpay.Client, log *slog.Logger) *Payments {
	if log == nil {
		log = slog.Default()
	}
	return &Payments{orders: orders, pay: pay, log: log}
}

// Pay prepays the user's unpaid order (reusing its open attempt: one
// out_trade_no is prepaid once) and returns the wx.requestPayment
// parameters. The attempt's time_expire is the order's release time.
func (p *Payments) Pay(ctx context.Context, userID, orderID, openID, description string) (wechatpay.RequestPayment, error) {
	a, _, err := p.orders.OpenAttempt(ctx, userID, orderID)
	if err != nil {
		return wechatpay.RequestPayment{}, err
	}
	// The shipping upload names the payer; record it before WeChat Pay
	// can take the money.
	if err := p.orders.SetPayer(ctx, a.OutTradeNo, openID); err != nil {
		return wechatpay.RequestPayment{}, err
	}
	rp, err := p.pay.Prepay(ctx, wechatpay.Prepay{OutTradeNo: a.OutTradeNo, Description: description, AmountFen: a.AmountFen, OpenID: openID, ExpiresAt: a.ExpiresAt})
	if err != nil {
		return wechatpay.RequestPayment{}, err
	}
	if err := p.orders.SetPrepay(ctx, a.OutTradeNo, rp.PrepayID); err != nil {
		return wechatpay.RequestPayment{}, err
	}
	return rp, nil
}

// OnPaid records a verified payment (NotifyHandler's callback). The
// payer WeChat Pay names is kept for the shipping upload where Pay did not
// record one.
func (p *Payments) OnPaid(ctx context.Context, wp wechatpay.Payment) error {
	if wp.PayerOpenID != "" {
		if err := p.orders.SetPayerIfUnknown(ctx, wp.OutTradeNo, wp.PayerOpenID); err != nil {
			return err
		}
	}
	out, err := p.orders.MarkPaid(ctx, postgres.Payment{OutTradeNo: wp.OutTradeNo, TransactionID: wp.TransactionID, AmountFen: wp.TotalFen, PaidAt: wp.PaidAt})
	if err != nil {
		return err
	}
	if out == postgres.RefundQueued {
		p.log.Warn("checkout: payment for a closed or already paid order; refund queued", "out_trade_no", wp.OutTradeNo)
	}
	return nil
}

// OnRefund records a verified refund notify.
func (p *Payments) OnRefund(ctx context.Context, n wechatpay.RefundNotice) error {
	switch n.RefundStatus {
	case "SUCCESS":
		return p.orders.RefundDone(ctx, n.OutRefundNo, true)
	case "CLOSED", "ABNORMAL":
		return p.orders.RefundDone(ctx, n.OutRefundNo, false)
	}
	return fmt.Errorf("refund %s: unknown status %s", n.OutRefundNo, n.RefundStatus)
}

// NotifyHandler serves WeChat Pay's notifies into these Payments.
func (p *Payments) NotifyHandler() *wechatpay.NotifyHandler {
	return wechatpay.NewNotifyHandler(p.pay, p.OnPaid, p.OnRefund, p.log)
}

// ClosePayment closes an attempt at WeChat Pay (postgres.PaymentCloser).
// When WeChat Pay says it was paid — the notify was lost or is late — the
// payment is queried and recorded, and commerce.ErrAlreadyPaid returned so
// the order keeps its stock.
func (p *Payments) ClosePayment(ctx context.Context, outTradeNo string) error {
	err := p.pay.ClosePayment(ctx, outTradeNo)
	if !errors.Is(err, commerce.ErrAlreadyPaid) {
		return err
	}
	wp, qerr := p.pay.Query(ctx, outTradeNo)
	if qerr != nil {
		return errors.Join(err, qerr)
	}
	if wp.Paid() {
		if rerr := p.OnPaid(ctx, wp); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	return err
}

// SendRefunds sends up to limit queued refunds to WeChat Pay and returns how
// many were accepted.
func (p *Payments) SendRefunds(ctx context.Context, limit int) (int, error) {
	rs, err := p.orders.PendingRefunds(ctx, limit)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, r := range rs {
		res, err := p.pay.Refund(ctx, wechatpay.RefundRequest{OutTradeNo: r.OutTradeNo, OutRefundNo: r.OutRefundNo, AmountFen: r.AmountFen, TotalFen: r.TotalFen, Reason: r.Reason})
		if err != nil {
			p.log.Warn("checkout: refund not accepted, will retry", "out_refund_no", r.OutRefundNo, "err", err)
			continue
		}
		if err := p.orders.RefundSent(ctx, r.OutRefundNo, res.Status); err != nil {
			return sent, err
		}
		sent++
	}
	return sent, nil
}

// Run closes timed-out orders, fails expired groups, forfeits presale
// deposits whose balance window ended unpaid and sends queued refunds every
// interval until ctx ends.
func (p *Payments) Run(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := p.orders.ExpireDue(ctx, p, 100); err != nil {
			p.log.Error("checkout: order timeouts", "err", err)
		} else if n > 0 {
			p.log.Info("checkout: closed timed-out orders", "orders", n)
		}
		if _, err := p.orders.ExpireGroups(ctx, 100); err != nil {
			p.log.Error("checkout: group buys", "err", err)
		}
		if n, err := p.orders.ExpirePresales(ctx, 100); err != nil {
			p.log.Error("checkout: presales", "err", err)
		} else if n > 0 {
			p.log.Info("checkout: forfeited presale deposits", "entries", n)
		}
		if _, err := p.SendRefunds(ctx, 100); err != nil {
			p.log.Error("checkout: refunds", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
