package commerce

import (
	"fmt"
	"strings"
)

// validateSKUs checks the imported SKUs of p: distinct valid ids, a price
// and stock in range, spec keys and values like attributes.
func (l Limits) validateSKUs(p *Product) error {
	if len(p.SKUs) > l.MaxSKUs {
		return &FieldError{"skus", fmt.Sprintf("%d SKUs, more than %d", len(p.SKUs), l.MaxSKUs)}
	}
	seen := make(map[string]bool, len(p.SKUs))
	for i := range p.SKUs {
		k := &p.SKUs[i]
		k.ID = strings.TrimSpace(k.ID)
		k.ProductID = p.ID
		field := fmt.Sprintf("skus[%d]", i)
		if err := l.id(field+".id", k.ID); err != nil {
			return err
		}
		if seen[k.ID] {
			return &FieldError{field + ".id", fmt.Sprintf("%q appears twice", k.ID)}
		}
		seen[k.ID] = true
		if k.PriceFen < 0 || k.PriceFen > l.MaxPriceFen {
			return &FieldError{field + ".price_fen", fmt.Sprintf("%d is out of range [0, %d]", k.PriceFen, l.MaxPriceFen)}
		}
		if k.Stock < 0 || k.Stock > l.MaxStock {
			return &FieldError{field + ".stock", fmt.Sprintf("%d is out of range [0, %d]", k.Stock, l.MaxStock)}
		}
		if len(k.Spec) > l.MaxAttrs {
			return &FieldError{field + ".spec", fmt.Sprintf("%d keys, more than %d", len(k.Spec), l.MaxAttrs)}
		}
		for name, v := range k.Spec {
			if err := text(field+".spec key", name, l.MaxAttrText, true); err != nil {
				return err
			}
			if err := text(field+".spec."+name, v, l.MaxAttrText, true); err != nil {
				return err
			}
		}
	}
	return nil
}
