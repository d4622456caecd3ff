package commerce

import (
	"errors"
	"log/slog"

	"connectrpc.com/connect"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/order"
	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/commerce/pricing"
)

// connectError maps the checkout's errors to Connect codes; anything
// unexpected is logged and answered internal without its detail.
func connectError(log *slog.Logger, procedure string, err error) error {
	var (
		fe *commerce.FieldError
		pe *pricing.FieldError
		te *order.TransitionError
	)
	switch {
	case errors.As(err, &fe) || errors.As(err, &pe):
		return connect.NewError(connect.CodeInvalidArgument, err)
	case errors.Is(err, postgres.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, postgres.ErrNotYours):
		return connect.NewError(connect.CodePermissionDenied, err)
	case errors.Is(err, commerce.ErrOutOfStock), errors.Is(err, commerce.ErrSoldOut), errors.Is(err, commerce.ErrLimitReached), errors.Is(err, postgres.ErrLimitUsed):
		return connect.NewError(connect.CodeResourceExhausted, err)
	case errors.Is(err, commerce.ErrNotStarted), errors.Is(err, commerce.ErrEnded), errors.Is(err, postgres.ErrNotUnpaid),
		errors.Is(err, postgres.ErrCannotShip), errors.Is(err, postgres.ErrNoRefundRequest), errors.Is(err, commerce.ErrAlreadyPaid),
		errors.Is(err, commerce.ErrGroupFull), errors.Is(err, commerce.ErrGroupClosed), errors.As(err, &te),
		errors.Is(err, commerce.ErrPresaleCancelled), errors.Is(err, commerce.ErrPresaleState):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce
	}
	log.Error("commerce rpc failed", "procedure", procedure, "err", err)
	return connect.NewError(connect.CodeInternal, errors.New("internal error"))
}
