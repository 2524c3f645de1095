package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	cases := []struct {
		status int
		code   int
		want   string
	}{
		{http.StatusOK, 0, "200 OK"},
		{http.StatusServiceUnavailable, 1, "503 Service Unavailable wal: failed"},
	}
	for _, c := range cases {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/healthz" {
				http.NotFound(w, r)
				return
			}
			w.WriteHeader(c.status)
			w.Write([]byte("wal: failed\n"))
		}))
		var out, errb bytes.Buffer
		code := mainArgs([]string{"healthcheck", "-url", srv.URL + "/healthz"}, nil, &out, &errb)
		srv.Close()
		if code != c.code || !strings.Contains(out.String()+errb.String(), c.want) {
			t.Errorf("status %d: exit %d, output %q; want exit %d with %q", c.status, code, out.String()+errb.String(), c.code, c.want)
		}
	}
	// Nothing listening: unhealthy, not a hang.
	var out, errb bytes.Buffer
	if code := mainArgs([]string{"healthcheck", "-url", "http://127.0.0.1:1/healthz", "-timeout", "1s"}, nil, &out, &errb); code != 1 {
		t.Errorf("nothing listening: exit %d", code)
	}
}
