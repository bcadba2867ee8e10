package kit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestGetOK(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer ok.Close()
	if err := GetOK(context.Background(), ok.URL, false); err != nil {
		t.Errorf("a 200: %v", err)
	}
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer bad.Close()
	if err := GetOK(context.Background(), bad.URL, false); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("a 503: %v, want an error with the status", err)
	}
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer tlsSrv.Close()
	if err := GetOK(context.Background(), tlsSrv.URL, false); err == nil {
		t.Error("a self-signed certificate verified without insecure")
	}
	if err := GetOK(context.Background(), tlsSrv.URL, true); err != nil {
		t.Errorf("a self-signed certificate with insecure: %v", err)
	}
}
