package pricing

import (
	"fmt"
	"math/bits"
	"sort"
)

// Price prices req. It fails with a *FieldError on invalid lines or
// promotions; a valid promotion that does not apply (not started, expired,
// threshold not reached, limit used up, does not stack) is listed in
// Quote.Skipped with the reason.
func Price(req Request) (Quote, error) {
	if err := validate(req); err != nil {
		return Quote{}, err
	}
	q := Quote{Lines: make([]LineQuote, len(req.Lines))}
	remaining := make([]int64, len(req.Lines)) // what each line still costs
	for i, l := range req.Lines {
		t := l.UnitFen * l.Quantity
		q.Lines[i] = LineQuote{Line: l, TotalFen: t}
		remaining[i] = t
		q.TotalFen += t
	}
	amount := q.TotalFen

	promos := append([]Promotion(nil), req.Promotions...)
	sort.SliceStable(promos, func(i, j int) bool { return promos[i].Source < promos[j].Source })
	exclusive := false
	for _, p := range promos {
		if exclusive {
			q.Skipped = append(q.Skipped, Skipped{p.ID, "an earlier promotion does not stack"})
			continue
		}
		if reason := unavailable(p, req); reason != "" {
			q.Skipped = append(q.Skipped, Skipped{p.ID, reason})
			continue
		}
		if !p.Stackable && len(q.Applied) > 0 {
			q.Skipped = append(q.Skipped, Skipped{p.ID, "does not stack with " + q.Applied[0].PromotionID})
			continue
		}
		off, reason := discount(p, amount)
		if off == 0 {
			q.Skipped = append(q.Skipped, Skipped{p.ID, reason})
			continue
		}
		shares := allocate(off, remaining)
		for i, s := range shares {
			remaining[i] -= s
			q.Lines[i].Shares = append(q.Lines[i].Shares, s)
		}
		amount -= off
		q.Applied = append(q.Applied, Applied{p.ID, p.Source, off})
		if !p.Stackable {
			exclusive = true
		}
	}
	for i := range q.Lines {
		q.Lines[i].PayFen = remaining[i]
		q.Lines[i].DiscountFen = q.Lines[i].TotalFen - remaining[i]
	}
	q.PayFen = amount
	q.DiscountFen = q.TotalFen - amount
	return q, nil
}

// unavailable says why p cannot be used by this user now, or "".
func unavailable(p Promotion, req Request) string {
	if !p.ValidFrom.IsZero() && req.At.Before(p.ValidFrom) {
		return "not valid before " + p.ValidFrom.UTC().Format("2006-01-02 15:04:05Z")
	}
	if !p.ValidUntil.IsZero() && !req.At.Before(p.ValidUntil) {
		return "expired at " + p.ValidUntil.UTC().Format("2006-01-02 15:04:05Z")
	}
	if p.PerUserLimit > 0 && req.Usage[p.ID] >= p.PerUserLimit {
		return fmt.Sprintf("per-user limit of %d used up", p.PerUserLimit)
	}
	return ""
}

// discount is what p takes off amount (0 ≤ off ≤ amount), or 0 and why not.
func discount(p Promotion, amount int64) (int64, string) {
	var off int64
	switch p.Kind {
	case Tiered:
		reached := false
		for _, t := range p.Tiers {
			if amount >= t.ThresholdFen {
				reached = true
				off = max(off, t.OffFen)
			}
		}
		if !reached {
			return 0, fmt.Sprintf("threshold of %d fen not reached", minThreshold(p.Tiers))
		}
	case Percent:
		if amount < p.ThresholdFen {
			return 0, fmt.Sprintf("threshold of %d fen not reached", p.ThresholdFen)
		}
		// The buyer pays the rounded-up share: the discount rounds down.
		off = amount * (10000 - p.PayBasisPoints) / 10000
		if p.CapFen > 0 {
			off = min(off, p.CapFen)
		}
	}
	off = min(off, amount)
	if off == 0 {
		return 0, "nothing to take off"
	}
	return off, ""
}

func minThreshold(ts []Tier) int64 {
	m := ts[0].ThresholdFen
	for _, t := range ts[1:] {
		m = min(m, t.ThresholdFen)
	}
	return m
}

// allocate splits off (≤ Σ remaining) over the lines pro rata to remaining,
// rounding down, the remainder on the last line. When the last line cannot
// take the remainder (it costs less than that), the rest goes to the lines
// before it, last first: no share exceeds its line's remaining amount.
func allocate(off int64, remaining []int64) []int64 {
	var sum int64
	for _, r := range remaining {
		sum += r
	}
	shares := make([]int64, len(remaining))
	if sum == 0 {
		return shares
	}
	var given int64
	for i := 0; i < len(remaining)-1; i++ {
		shares[i] = mulDiv(off, remaining[i], sum)
		given += shares[i]
	}
	left := off - given
	for i := len(remaining) - 1; i >= 0 && left > 0; i-- {
		room := remaining[i] - shares[i]
		take := min(room, left)
		shares[i] += take
		left -= take
	}
	return shares
}

// mulDiv is ⌊a·b/c⌋ for 0 ≤ a ≤ c and b ≥ 0 without overflow.
func mulDiv(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int64(q)
}

func validate(req Request) error {
	if len(req.Lines) == 0 {
		return &FieldError{"lines", "an order needs at least one line"}
	}
	var total int64
	for i, l := range req.Lines {
		field := fmt.Sprintf("lines[%d]", i)
		switch {
		case l.SKUID == "":
			return &FieldError{field + ".sku_id", "is empty"}
		case l.Quantity < 1 || l.Quantity > MaxQuantity:
			return &FieldError{field + ".quantity", fmt.Sprintf("%d is not in 1..%d", l.Quantity, MaxQuantity)}
		case l.UnitFen < 0 || l.UnitFen > MaxOrderFen:
			return &FieldError{field + ".unit_fen", fmt.Sprintf("%d is not in 0..%d", l.UnitFen, MaxOrderFen)}
		case l.UnitFen > (MaxOrderFen-total)/l.Quantity:
			return &FieldError{"lines", fmt.Sprintf("the order total exceeds %d fen", MaxOrderFen)}
		}
		total += l.UnitFen * l.Quantity
	}
	seen := map[Source]string{}
	for i, p := range req.Promotions {
		field := fmt.Sprintf("promotions[%d]", i)
		if p.ID == "" {
			return &FieldError{field + ".id", "is empty"}
		}
		if p.Source < Room || p.Source > Coupon {
			return &FieldError{field + ".source", fmt.Sprintf("unknown source %d", int(p.Source))}
		}
		if other, ok := seen[p.Source]; ok {
			return &FieldError{field, fmt.Sprintf("%s and %s are both %s promotions; one per source", other, p.ID, p.Source)}
		}
		seen[p.Source] = p.ID
		switch p.Kind {
		case Tiered:
			if len(p.Tiers) == 0 {
				return &FieldError{field + ".tiers", "a tiered promotion needs at least one tier"}
			}
			for j, t := range p.Tiers {
				if t.ThresholdFen < 0 || t.OffFen <= 0 || t.OffFen > MaxOrderFen || t.ThresholdFen > MaxOrderFen {
					return &FieldError{fmt.Sprintf("%s.tiers[%d]", field, j), "needs a threshold ≥ 0 and an amount off > 0, both at most MaxOrderFen"}
				}
			}
		case Percent:
			if p.PayBasisPoints < 1 || p.PayBasisPoints > 9999 {
				return &FieldError{field + ".pay_basis_points", fmt.Sprintf("%d is not in 1..9999", p.PayBasisPoints)}
			}
			if p.CapFen < 0 || p.ThresholdFen < 0 {
				return &FieldError{field, "cap and threshold must not be negative"}
			}
		default:
			return &FieldError{field + ".kind", fmt.Sprintf("unknown kind %d", int(p.Kind))}
		}
		if !p.ValidFrom.IsZero() && !p.ValidUntil.IsZero() && !p.ValidFrom.Before(p.ValidUntil) {
			return &FieldError{field + ".valid_until", "must be after valid_from"}
		}
		if p.PerUserLimit < 0 {
			return &FieldError{field + ".per_user_limit", "must not be negative"}
		}
	}
	return nil
}
