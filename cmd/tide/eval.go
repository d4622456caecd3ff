package main

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
)

// evaluations lists the `tide eval NAME` offline evaluations.
func evaluations() map[string]func(ctx context.Context, log *slog.Logger, args []string) error {
	return map[string]func(ctx context.Context, log *slog.Logger, args []string) error{
		"fraud":  evalFraud,
		"live":   evalLive,
		"ranker": evalRanker,
		"search": evalSearch,
	}
}

func runEval(ctx context.Context, log *slog.Logger, args []string) error {
	evals := evaluations()
	names := make([]string, 0, len(evals))
	for n := range evals {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) == 0 {
		return fmt.Errorf("usage: tide eval {%v} [flags]", names)
	}
	f, ok := evals[args[0]]
	if !ok {
		return fmt.Errorf("unknown evaluation %q; have %v", args[0], names)
	}
	return f(ctx, log, args[1:])
}
