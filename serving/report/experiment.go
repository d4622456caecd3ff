package report

import (
	"context"
	"fmt"
	"sort"

	"connectrpc.com/connect"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/serving/report/abstat"
	"github.com/tide-live/tide/serving/report/chreport"
)

// confidence is the level of the lift intervals.
const confidence = 0.95

// ExperimentReport is the A/B report of one experiment over the merchant's
// audience.
func (h *Handler) ExperimentReport(ctx context.Context, req *connect.Request[tidev1.ExperimentReportRequest]) (*connect.Response[tidev1.ExperimentReportResponse], error) {
	msg := req.Msg
	m, err := merchant(ctx, msg.GetMerchantId())
	if err != nil {
		return nil, err
	}
	if err := checkID("experiment", msg.GetExperiment(), true); err != nil {
		return nil, err
	}
	control := msg.GetControlArm()
	if control == "" {
		control = "control"
	}
	if err := checkID("control_arm", control, true); err != nil {
		return nil, err
	}
	fromS, toS := msg.GetFromDate(), msg.GetToDate()
	if fromS == "" && toS == "" {
		today := chreport.ShanghaiDay(h.now().UnixMilli())
		fromS, toS = chreport.DayLabel(today-defaultExperiment+1), chreport.DayLabel(today)
	}
	from, to, err := dateRange(fromS, toS)
	if err != nil {
		return nil, err
	}
	sums, err := h.r.Experiment(ctx, chreport.Scope{MerchantID: m, From: chreport.DayStart(from), To: chreport.DayStart(to + 1)}, msg.GetExperiment())
	if err != nil {
		return nil, h.queryError(ctx, "experiment", err)
	}
	if len(sums) == 0 {
		return nil, connect.NewError(connect.CodeNotFound,
			fmt.Errorf("experiment %q: none of your viewers was exposed to it from %s to %s", msg.GetExperiment(), fromS, toS))
	}
	resp := &tidev1.ExperimentReportResponse{Experiment: msg.GetExperiment(), ControlArm: control,
		FromDate: fromS, ToDate: toS, OrdersSource: chreport.OrdersSource()}
	sort.SliceStable(sums, func(i, j int) bool { return sums[i].Arm == control && sums[j].Arm != control })
	var ctrl *chreport.ArmSums
	if sums[0].Arm == control {
		ctrl = &sums[0]
	}
	for _, a := range sums {
		resp.Arms = append(resp.Arms, armReport(a, ctrl))
	}
	srm, err := sampleRatio(sums, msg.GetExpectedWeights())
	if err != nil {
		return nil, err
	}
	resp.SampleRatio = srm
	return connect.NewResponse(resp), nil
}

// armReport is one arm's report, with lifts against ctrl (nil: no control
// arm was seen, so no lifts).
func armReport(a chreport.ArmSums, ctrl *chreport.ArmSums) *tidev1.ArmReport {
	r := &tidev1.ArmReport{Arm: a.Arm, Control: ctrl != nil && a.Arm == ctrl.Arm, ExposedUsers: a.Users,
		Impressions: a.Impressions, Clicks: a.Clicks, Buyers: a.Buyers, GmvFen: a.GMV}
	metrics := []struct {
		name, label string
		sums        func(chreport.ArmSums) abstat.Sums
	}{
		{"ctr", "点击率", chreport.ArmSums.CTR},
		{"order_rate", "下单转化率", chreport.ArmSums.OrderRate},
		{"gmv_per_user", "人均成交金额(分)", chreport.ArmSums.GMVPerUser},
	}
	for _, mt := range metrics {
		est := abstat.Ratio(mt.sums(a))
		e := &tidev1.MetricEstimate{Metric: mt.name, Label: mt.label, Value: est.Value, StdError: est.StdErr}
		if ctrl != nil && !r.Control {
			l := abstat.RelativeLift(est, abstat.Ratio(mt.sums(*ctrl)), confidence)
			e.Lift, e.LiftLow, e.LiftHigh, e.Significant = l.Relative, l.Low, l.High, l.Significant
		}
		r.Metrics = append(r.Metrics, e)
	}
	return r
}

// sampleRatio checks the exposed users per arm against the planned weights.
func sampleRatio(sums []chreport.ArmSums, weights map[string]float64) (*tidev1.SampleRatioCheck, error) {
	if len(sums) < 2 {
		return &tidev1.SampleRatioCheck{PValue: 1, Message: "只有一个实验组有曝光用户，无法检查样本比例"}, nil
	}
	obs := make([]float64, len(sums))
	var w []float64
	if len(weights) > 0 {
		w = make([]float64, len(sums))
	}
	for i, a := range sums {
		obs[i] = float64(a.Users)
		if w != nil {
			ww, ok := weights[a.Arm]
			if !ok || ww <= 0 {
				return nil, invalid("expected_weights", "arm %q has no positive weight", a.Arm)
			}
			w[i] = ww
		}
	}
	srm, err := abstat.SampleRatio(obs, w)
	if err != nil {
		return nil, invalid("expected_weights", "%v", err)
	}
	out := &tidev1.SampleRatioCheck{ChiSquared: srm.ChiSquared, PValue: srm.PValue, Mismatch: srm.Mismatch,
		Message: "样本比例正常"}
	if srm.Mismatch {
		out.Message = fmt.Sprintf("样本比例失衡（SRM，p=%.2g < 0.001）：分流或曝光记录有问题，结果不可信", srm.PValue)
	}
	return out, nil
}
