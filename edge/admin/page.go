package admin

import (
	_ "embed" // the installer page
	"net/http"
)

// pageHTML is the installer page: one file, no external assets, so it works
// on a site with no internet and needs no build step.
//
//go:embed page.html
var pageHTML []byte //nolint:gochecknoglobals // embedded, read-only

// pageCSP allows the page's own inline script and style and requests to
// this server only: it loads nothing from anywhere else.
const pageCSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; " +
	"img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// PageRoute serves GET / (only that path): the installer page, which polls
// /status and /chargers every 2 s, sends test starts, stops and BKV
// pairing through POST /chargers/{id}/commands and shows a charger's
// recent frames from GET /chargers/{id}/frames.
func PageRoute() Route {
	return Route{Pattern: "GET /{$}", Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", pageCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		_, _ = w.Write(pageHTML)
	})}
}
