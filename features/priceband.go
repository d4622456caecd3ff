package features

import "math"

// PriceBand is a viewer's long-term price preference: the weighted
// geometric mean of the prices of what they paid for, carted and clicked
// (Median) and one weighted standard deviation of log price either side
// (Low, High), in fen. The zero value means unknown.
type PriceBand struct {
	Low, Median, High int64
	// Weight is the summed event weight behind the band (0: unknown).
	Weight float64
}

// Known reports whether the band has any evidence behind it.
func (b PriceBand) Known() bool { return b.Weight > 0 && b.Median > 0 }

// Affinity is how well priceFen fits the band, in [0, 1]: 1 inside
// [Low, High], falling by a factor e for each band width (in log price)
// outside it; 0 when the band or the price is unknown.
func (b PriceBand) Affinity(priceFen int64) float64 {
	if !b.Known() || priceFen <= 0 {
		return 0
	}
	if priceFen >= b.Low && priceFen <= b.High {
		return 1
	}
	width := math.Log(float64(max(b.High, 1))) - math.Log(float64(max(b.Low, 1)))
	width = max(width, math.Ln2/2) // a band of one price still tolerates ±41%
	lp := math.Log(float64(priceFen))
	edge := math.Log(float64(max(b.Low, 1)))
	if priceFen > b.High {
		edge = math.Log(float64(b.High))
	}
	return math.Exp(-math.Abs(lp-edge) / width)
}

// PriceStats accumulates weighted prices into a PriceBand.
type PriceStats struct{ w, s, ss float64 }

// Add counts one price (fen) with weight w; non-positive ones are ignored.
func (p *PriceStats) Add(priceFen int64, w float64) {
	if priceFen <= 0 || w <= 0 {
		return
	}
	l := math.Log(float64(priceFen))
	p.w += w
	p.s += w * l
	p.ss += w * l * l
}

// Band returns the band of what was added.
func (p PriceStats) Band() PriceBand {
	if p.w == 0 {
		return PriceBand{}
	}
	mu := p.s / p.w
	sd := math.Sqrt(max(p.ss/p.w-mu*mu, 0))
	return PriceBand{Low: int64(math.Round(math.Exp(mu - sd))), Median: int64(math.Round(math.Exp(mu))),
		High: int64(math.Round(math.Exp(mu + sd))), Weight: p.w}
}
