package main

import (
	"context"
	"fmt"
	"os"
	"sort"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tide-live/tide/serving/auth"
)

// demoMerchantKeys makes an API key for every merchant of the demo catalog,
// so that a newcomer can sign in to the dashboard as one of them. They are
// built-in keys of this run only (see serveKeyStore's "<key> merchant <id>").
func demoMerchantKeys() (map[string]string, error) {
	catalog, err := demoCatalog()
	if err != nil {
		return nil, err
	}
	keys := map[string]string{}
	for _, p := range catalog {
		if _, ok := keys[p.MerchantID]; ok || p.MerchantID == "" {
			continue
		}
		k, err := auth.NewAPIKey()
		if err != nil {
			return nil, err
		}
		keys[p.MerchantID] = k
	}
	return keys, nil
}

// demoBuiltinKeys are keys as serveConfig.adminKeys takes them.
func demoBuiltinKeys(admin string, merchants map[string]string) []string {
	out := []string{admin}
	ids := make([]string, 0, len(merchants))
	for id := range merchants {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		out = append(out, merchants[id]+" merchant "+id)
	}
	return out
}

// demoDashboardHowTo prints the dashboard's URL and the key of the merchant
// with the most room enters in the demo's events.
func demoDashboardHowTo(ctx context.Context, ch driver.Conn, db, base string, keys map[string]string) {
	var top string
	var n uint64
	err := ch.QueryRow(ctx, "SELECT merchant_id, uniqExact(event_id) AS enters FROM "+db+
		".events WHERE type = 'room_enter' AND merchant_id != '' GROUP BY merchant_id ORDER BY enters DESC LIMIT 1").Scan(&top, &n)
	if err != nil || keys[top] == "" {
		fmt.Fprintf(os.Stderr, "tide demo: no merchant with room traffic to show on the dashboard (%v)\n", err)
		return
	}
	fmt.Printf("\nThe merchant dashboard: open %s%s and sign in as merchant %s (%d room enters) with the API key\n  %s\n",
		base, dashboardPath, top, n, keys[top])
}
