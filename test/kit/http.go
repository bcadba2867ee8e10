package kit

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
)

// insecureClient probes the self-signed serving certificates of local test processes
// (kube-controller-manager, kube-scheduler).
var insecureClient = &http.Client{Transport: &http.Transport{
	TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // health probe of a local test process
}}

// Get sends a GET of url; insecure skips certificate verification. The caller closes the body.
func Get(ctx context.Context, url string, insecure bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	c := http.DefaultClient
	if insecure {
		c = insecureClient
	}
	return c.Do(req)
}

// GetOK succeeds when url answers 200: a health or readiness probe.
func GetOK(ctx context.Context, url string, insecure bool) error {
	resp, err := Get(ctx, url, insecure)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
