package commerce

import (
	"errors"
	"testing"
	"time"
)

func TestPresaleValidate(t *testing.T) {
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	ok := Presale{ID: "ps", SKUID: "a", PriceFen: 1000, DepositFen: 100, DeductionFen: 150, Allotment: 10, PerUserLimit: 2,
		DepositStartsAt: at, DepositEndsAt: at.Add(time.Hour), BalanceStartsAt: at.Add(time.Hour), BalanceEndsAt: at.Add(2 * time.Hour)}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(*Presale){
		"presale.deposit_fen":       func(p *Presale) { p.DepositFen = 0 },
		"presale.deduction_fen":     func(p *Presale) { p.DeductionFen = 99 },
		"presale.allotment":         func(p *Presale) { p.Allotment = 0 },
		"presale.per_user_limit":    func(p *Presale) { p.PerUserLimit = -1 },
		"presale.balance_starts_at": func(p *Presale) { p.BalanceStartsAt = at.Add(time.Minute) },
		"presale.balance_ends_at":   func(p *Presale) { p.BalanceEndsAt = p.BalanceStartsAt },
		"presale.deposit_ends_at":   func(p *Presale) { p.DepositEndsAt = at },
		"presale.id":                func(p *Presale) { p.ID = "" },
	}
	for field, mutate := range cases {
		p := ok
		mutate(&p)
		var fe *FieldError
		if err := p.Validate(); !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: got %v", field, err)
		}
	}
	if err := ok.BalanceOpen(at.Add(30 * time.Minute)); !errors.Is(err, ErrNotStarted) {
		t.Errorf("balance before its window: %v", err)
	}
	if err := ok.BalanceOpen(at.Add(2 * time.Hour)); !errors.Is(err, ErrEnded) {
		t.Errorf("balance at its end: %v", err)
	}
	ok.Cancelled = true
	if err := ok.DepositOpen(at); !errors.Is(err, ErrPresaleCancelled) {
		t.Errorf("deposit of a cancelled presale: %v", err)
	}
}

func TestCheckPresaleMove(t *testing.T) {
	if err := CheckPresaleMove(DepositPaid, DepositForfeited); err != nil {
		t.Fatal(err)
	}
	for _, m := range [][2]PresaleState{{DepositUnpaid, DepositForfeited}, {DepositForfeited, PresaleCancelled}, {PresaleReleased, DepositPaid}} {
		if err := CheckPresaleMove(m[0], m[1]); !errors.Is(err, ErrPresaleState) {
			t.Errorf("%s → %s allowed", m[0], m[1])
		}
	}
}
