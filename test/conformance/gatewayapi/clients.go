//go:build conformance

package gatewayapi

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/websocket"
	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/gateway-api/conformance/utils/grpc"
	"sigs.k8s.io/gateway-api/conformance/utils/roundtripper"
)

// errNoDataPlane is what a request gets when its test was not ended first (a client call
// without the test's *testing.T, such as a WebSocket dial).
var errNoDataPlane = errors.New("no data plane here: kwok pods run no Envoy and no backend, so no request can be served")

// noDataPlane stands in for the suite's HTTP (and HTTPS) round tripper, gRPC client and
// WebSocket dialer. There is no data plane here, so a test's first request is where what can be
// checked ends: onTraffic is called with the requesting test's *testing.T, in its goroutine
// (the suite's helpers call the clients from the test that sends), and ends that test, as a
// failure or a skip.
//
// TLSRoute, TCPRoute and UDPRoute tests dial the Gateway themselves, past these clients: their
// traffic tests have statusOnlyChecks entries instead (traffic_l4.go).
type noDataPlane struct {
	// parent is the name of the test that runs the suite: a request's test name is
	// parent/<ShortName>[/subtest...].
	parent    string
	onTraffic func(t *testing.T, shortName string)

	mu      sync.Mutex
	reached sets.Set[string]
}

func newNoDataPlane(parent string, onTraffic func(t *testing.T, shortName string)) *noDataPlane {
	return &noDataPlane{parent: parent, onTraffic: onTraffic, reached: sets.New[string]()}
}

// traffic records that t's suite test sent a request and hands t to onTraffic.
func (n *noDataPlane) traffic(t *testing.T) {
	if t == nil {
		return
	}
	shortName, _, _ := strings.Cut(strings.TrimPrefix(t.Name(), n.parent+"/"), "/")
	n.mu.Lock()
	n.reached.Insert(shortName)
	n.mu.Unlock()
	n.onTraffic(t, shortName)
}

// sentRequest says whether the suite test shortName sent a request.
func (n *noDataPlane) sentRequest(shortName string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.reached.Has(shortName)
}

// CaptureRoundTrip is every HTTP and HTTPS request of the suite (roundtripper.RoundTripper).
func (n *noDataPlane) CaptureRoundTrip(req roundtripper.Request) (*roundtripper.CapturedRequest, *roundtripper.CapturedResponse, error) {
	n.traffic(req.T)
	return nil, nil, errNoDataPlane
}

// SendRPC is every gRPC request of the suite (grpc.Client).
func (n *noDataPlane) SendRPC(t *testing.T, _ string, _ grpc.ExpectedResponse, _ time.Duration) (*grpc.Response, error) {
	n.traffic(t)
	return nil, errNoDataPlane
}

// Close implements grpc.Client.
func (n *noDataPlane) Close() {}

// Dial is every WebSocket connection of the suite (websocket.Dialer). It has no *testing.T to
// end, so tests that dial are in statusOnlyChecks.
func (n *noDataPlane) Dial(_, _, _ string) (*websocket.Conn, error) {
	return nil, errNoDataPlane
}
