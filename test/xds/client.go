// Package xds reads the Envoy configuration that Envoy Gateway serves to a Gateway's proxies,
// by connecting to its xDS server the way the proxy pod would. There is no Envoy on the test
// machines; this is how the system tests see what Envoy would be told.
//
// In GatewayNamespace mode a proxy authenticates with a service-account token bound to its pod
// (audience: the xDS server's cluster-local name), which Envoy Gateway checks with a
// TokenReview, and verifies the server with the CA in the proxy's ConfigMap. ForGateway finds
// the Gateway's fake proxy pod (kwok runs it) and does the same: TokenRequest for the pod's
// ServiceAccount bound to the pod, the ConfigMap's ca.crt, node.id = pod name and
// node.cluster = "<namespace>/<gateway>" (the key of the Gateway's snapshot).
package xds

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/inferencepool-operator/inferencepool-operator/test/kit"
)

const (
	// DefaultAddress is Envoy Gateway's xDS server on the test machine.
	DefaultAddress = "127.0.0.1:18000"
	// DefaultServerName is the xDS server's name in its certificate (the SNI proxies send) and
	// the audience of their tokens: the envoy-gateway Service in envoy-gateway-system.
	DefaultServerName = "envoy-gateway.envoy-gateway-system.svc.cluster.local"

	owningGatewayNameLabel      = "gateway.envoyproxy.io/owning-gateway-name"
	owningGatewayNamespaceLabel = "gateway.envoyproxy.io/owning-gateway-namespace"
)

// Client reads the xDS resources served to one proxy.
type Client struct {
	// Address and ServerName of the xDS server.
	Address, ServerName string
	// Node identifies the proxy: Id is its pod name, Cluster "<namespace>/<gateway>".
	Node *corev3.Node
	// CACertPEM verifies the server; Token authenticates the client.
	CACertPEM []byte
	Token     string
}

// ForGateway returns a client that poses as the proxy pod of Gateway namespace/name (Envoy
// Gateway in GatewayNamespace mode runs it in the Gateway's namespace). It waits up to a
// minute for a Ready proxy pod.
func ForGateway(ctx context.Context, cfg *rest.Config, namespace, name string) (*Client, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	pod, err := waitForProxyPod(ctx, cs, namespace, name)
	if err != nil {
		return nil, err
	}
	ca, err := proxyCA(ctx, cs, pod)
	if err != nil {
		return nil, err
	}
	expiry := int64(time.Hour.Seconds())
	tr, err := cs.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, pod.Spec.ServiceAccountName, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			Audiences:         []string{DefaultServerName},
			ExpirationSeconds: &expiry,
			BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("token for proxy pod %s/%s: %w", namespace, pod.Name, err)
	}
	return &Client{
		Address:    DefaultAddress,
		ServerName: DefaultServerName,
		Node:       &corev3.Node{Id: pod.Name, Cluster: namespace + "/" + name},
		CACertPEM:  ca,
		Token:      tr.Status.Token,
	}, nil
}

func waitForProxyPod(ctx context.Context, cs kubernetes.Interface, namespace, name string) (*corev1.Pod, error) {
	selector := labels.SelectorFromSet(labels.Set{owningGatewayNameLabel: name, owningGatewayNamespaceLabel: namespace}).String()
	var ready *corev1.Pod
	err := kit.Poll(ctx, kit.Options{Timeout: time.Minute, Interval: 200 * time.Millisecond,
		What: fmt.Sprintf("a Ready proxy pod of Gateway %s/%s (%s)", namespace, name, selector)}, func(ctx context.Context) error {
		pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return err
		}
		sort.Slice(pods.Items, func(i, j int) bool { return pods.Items[i].Name < pods.Items[j].Name })
		for i := range pods.Items {
			if podReady(&pods.Items[i]) {
				ready = &pods.Items[i]
				return nil
			}
		}
		return fmt.Errorf("%d pods, none Ready", len(pods.Items))
	})
	return ready, err
}

func podReady(pod *corev1.Pod) bool {
	if pod.DeletionTimestamp != nil {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// proxyCA reads the CA the proxy trusts for xDS: ca.crt of the ConfigMap mounted as the pod's
// "certs" volume.
func proxyCA(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod) ([]byte, error) {
	for _, v := range pod.Spec.Volumes {
		if v.Name != "certs" || v.ConfigMap == nil {
			continue
		}
		cm, err := cs.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, v.ConfigMap.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		if ca := cm.Data["ca.crt"]; ca != "" {
			return []byte(ca), nil
		}
		return nil, fmt.Errorf("ConfigMap %s/%s has no ca.crt", pod.Namespace, cm.Name)
	}
	return nil, fmt.Errorf("proxy pod %s/%s has no ConfigMap volume \"certs\" (is Envoy Gateway in GatewayNamespace mode?)", pod.Namespace, pod.Name)
}

// Fetch opens an ADS stream, reads the current clusters, endpoints, listeners and routes, and
// closes it. It fails when the server sends nothing within ctx or 15 s (for example when it has
// no configuration for the node's cluster yet); callers that wait for a change poll it.
func (c *Client) Fetch(ctx context.Context) (*Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	conn, err := c.dial()
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close() }()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		return nil, fmt.Errorf("xds: opening ADS stream: %w", err)
	}
	defer func() { _ = stream.CloseSend() }()
	return newReader(stream, c.Node).read()
}

// Watch opens an ADS stream and keeps it open: each time Envoy Gateway pushes a change and the
// configuration is complete again (clusters, their endpoints, listeners and their routes), it
// calls fn with the snapshot, until fn returns true or an error, or ctx ends. A proxy sees
// changes this way; polling with Fetch would see them only at the next poll. fn must not keep
// the snapshot: later pushes update it in place.
func (c *Client) Watch(ctx context.Context, fn func(*Snapshot) (bool, error)) error {
	conn, err := c.dial()
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		return fmt.Errorf("xds: opening ADS stream: %w", err)
	}
	defer func() { _ = stream.CloseSend() }()
	return newReader(stream, c.Node).watch(fn)
}

func (c *Client) dial() (*grpc.ClientConn, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.CACertPEM) {
		return nil, errors.New("xds: no certificate in CACertPEM")
	}
	return grpc.NewClient(c.Address,
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: c.ServerName, MinVersion: tls.VersionTLS12})),
		// A snapshot of thousands of routes is larger than gRPC's default 4 MiB message.
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256<<20)),
		grpc.WithPerRPCCredentials(bearer(c.Token)))
}

// bearer sends the token as the authorization header of every RPC, as Envoy does with the
// token file its bootstrap names.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return true }
