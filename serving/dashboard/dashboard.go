// Package dashboard is the merchant dashboard's static web app (数据看板),
// embedded in the binary: sign-in with an API key, the rooms list, a live
// room's dashboard polling ReportService.LiveNow, the session report and
// the A/B experiment report. Every data call goes from the browser to
// ReportService over Connect JSON with the key the merchant typed; the
// files themselves need no credentials.
//
// The sources are in web/ (ECharts from npm, pinned by web/package-lock.json);
// `make generate` bundles them with esbuild into assets/app.js, which is
// committed so `go build` needs no Node.
package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed assets
var assets embed.FS

// Handler serves the dashboard's files mounted at prefix (e.g. "/dashboard/").
func Handler(prefix string) http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil { // cannot happen: the directory is embedded
		panic(err)
	}
	files := http.StripPrefix(prefix, http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
		files.ServeHTTP(w, r)
	})
}
