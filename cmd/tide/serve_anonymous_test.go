package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
)

// Every procedure of every service in proto/tide/v1 (read from the generated
// descriptors, so a new service is covered without touching this test) is
// called without credentials on the server `tide serve` builds: all refuse
// with unauthenticated except AuthService.Login, whatever order the
// services were mounted in.
func TestEveryProcedureRefusesAnonymousCalls(t *testing.T) {
	tt := startTide(t, map[string]string{envRateLimit: "off"}) // hundreds of calls from one IP
	public := map[string]bool{tidev1connect.AuthServiceLoginProcedure: true}
	mounted := map[string]int{}
	protoregistry.GlobalFiles.RangeFilesByPackage("tide.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := 0; i < fd.Services().Len(); i++ {
			svc := fd.Services().Get(i)
			for j := 0; j < svc.Methods().Len(); j++ {
				m := svc.Methods().Get(j)
				proc := "/" + string(svc.FullName()) + "/" + string(m.Name())
				if m.IsStreamingClient() || m.IsStreamingServer() {
					t.Errorf("%s streams: extend this test to the streaming protocol", proc)
					continue
				}
				status, code := anonymousCall(t, tt.base+proc)
				if status == http.StatusNotFound {
					t.Logf("%s: not mounted by tide serve", proc)
					continue
				}
				mounted[string(svc.Name())]++
				switch {
				case public[proc] && code == "unauthenticated":
					t.Errorf("%s is public but answered unauthenticated", proc)
				case !public[proc] && code != "unauthenticated":
					t.Errorf("%s answered an anonymous call with HTTP %d %q, want unauthenticated", proc, status, code)
				}
			}
		}
		return true
	})
	for _, svc := range []string{"AuthService", "EventService", "FeedService", "SearchService"} {
		if mounted[svc] == 0 {
			t.Errorf("%s is not mounted: the test covered nothing of it", svc)
		}
	}
	t.Logf("procedures called per mounted service: %v", mounted)
}

// anonymousCall posts an empty Connect JSON request and returns the HTTP
// status and Connect error code ("" for success).
func anonymousCall(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		return resp.StatusCode, ""
	}
	var e struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(body, &e)
	return resp.StatusCode, e.Code
}
