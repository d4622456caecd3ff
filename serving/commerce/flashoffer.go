package commerce

import (
	"context"

	"github.com/tide-live/tide/commerce/postgres"
)

// offers returns the current offers of the SKUs ids. A flash sale's one
// SKU comes from its seller, which reads it once a second rather than once
// per buyer (every buyer of a storm prices the same SKU); anything else is
// read from the store.
func (h *Handler) offers(ctx context.Context, ids []string, flashSaleID string) (map[string]postgres.SKUOffer, error) {
	if flashSaleID != "" && h.seller != nil && len(ids) == 1 {
		o, ok, err := h.seller.Offer(ctx, flashSaleID)
		if err != nil {
			return nil, err
		}
		if ok && o.SKUID == ids[0] {
			return map[string]postgres.SKUOffer{o.SKUID: o}, nil
		}
	}
	return h.store.SKUOffers(ctx, ids)
}
