package dashboard_test

import (
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/tide-live/tide/serving/dashboard"
)

// The dashboard's files are served without credentials; the data calls in
// them carry the merchant's key.
func ExampleHandler() {
	h := dashboard.Handler("/dashboard/")
	for _, path := range []string{"/dashboard/", "/dashboard/app.js", "/dashboard/nope.js"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		fmt.Println(path, rec.Code, strings.Contains(rec.Body.String(), "tide") || rec.Body.Len() > 100_000)
	}
	// Output:
	// /dashboard/ 200 true
	// /dashboard/app.js 200 true
	// /dashboard/nope.js 404 false
}
