package cluster

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// files are the paths of the generated certificates, keys and kubeconfigs.
type files struct {
	caCert, caKey                    string
	frontProxyCA                     string
	proxyClientCert, proxyClientKey  string
	apiserverCert, apiserverKey      string
	saKey, saPub                     string
	kcmKubeconfig, schedulerKubeconf string
	kwokKubeconfig, kwokConfig       string
}

// writeFiles generates the cluster CA, the API server's serving certificate, a client
// certificate per component (each with the identity the default RBAC roles expect), the
// service-account signing keys, the kubeconfigs and kwok's configuration.
func (c *Cluster) writeFiles() (*files, error) {
	pki := filepath.Join(c.Dir, "pki")
	f := &files{}
	ca, err := newCA("inferencepool-operator-test-ca")
	if err != nil {
		return nil, err
	}
	c.CACertPEM, c.ca = ca.CertPEM, ca
	if f.caCert, f.caKey, err = ca.write(pki, "ca"); err != nil {
		return nil, err
	}
	serving, err := ca.sign(certSpec{
		CommonName: "kube-apiserver",
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc.cluster.local"},
		// 10.96.0.1 is the kubernetes Service's ClusterIP (first address of ServiceCIDR).
		IPs:    []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")},
		Server: true,
	})
	if err != nil {
		return nil, err
	}
	if f.apiserverCert, f.apiserverKey, err = serving.write(pki, "apiserver"); err != nil {
		return nil, err
	}
	if f.saKey, f.saPub, err = writeServiceAccountKeys(pki); err != nil {
		return nil, err
	}
	// The aggregation layer's request-header CA. Nothing is aggregated here, but without it
	// the controller-manager and scheduler log an error every few seconds.
	frontProxy, err := newCA("front-proxy-ca")
	if err != nil {
		return nil, err
	}
	if f.frontProxyCA, _, err = frontProxy.write(pki, "front-proxy-ca"); err != nil {
		return nil, err
	}
	proxyClient, err := frontProxy.sign(certSpec{CommonName: "front-proxy-client", Client: true})
	if err != nil {
		return nil, err
	}
	if f.proxyClientCert, f.proxyClientKey, err = proxyClient.write(pki, "front-proxy-client"); err != nil {
		return nil, err
	}

	client := func(cn string, groups ...string) (Credentials, error) {
		kp, err := ca.sign(certSpec{CommonName: cn, Groups: groups, Client: true})
		if err != nil {
			return Credentials{}, err
		}
		return Credentials{CertPEM: kp.CertPEM, KeyPEM: kp.KeyPEM}, nil
	}
	kubeconfigs := []struct {
		path   *string
		file   string
		cn     string
		groups []string
	}{
		{&c.Kubeconfig, "admin.kubeconfig", "admin", []string{"system:masters"}},
		{&f.kcmKubeconfig, "controller-manager.kubeconfig", "system:kube-controller-manager", nil},
		{&f.schedulerKubeconf, "scheduler.kubeconfig", "system:kube-scheduler", nil},
		// kwok plays the kubelet of every fake node: node and pod status, leases, deletions.
		{&f.kwokKubeconfig, "kwok.kubeconfig", "kwok", []string{"system:masters"}},
	}
	for _, k := range kubeconfigs {
		creds, err := client(k.cn, k.groups...)
		if err != nil {
			return nil, err
		}
		*k.path = filepath.Join(c.Dir, k.file)
		if err := WriteKubeconfig(*k.path, c.Server, ca.CertPEM, creds); err != nil {
			return nil, err
		}
		if k.file == "admin.kubeconfig" {
			c.config = restConfig(c.Server, ca.CertPEM, creds)
		}
	}
	f.kwokConfig = filepath.Join(c.Dir, "kwok", "kwok.yaml")
	if err := writeKwokConfig(f.kwokConfig); err != nil {
		return nil, err
	}
	return f, nil
}

func etcdArgs(dir string, port, peerPort int) []string {
	client := "http://127.0.0.1:" + strconv.Itoa(port)
	peer := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	return []string{
		"--name=default",
		"--data-dir=" + filepath.Join(dir, "etcd"),
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=default=" + peer,
		// Test data is thrown away: skipping fsync makes every write much faster.
		"--unsafe-no-fsync=true",
		"--log-level=warn",
	}
}

func apiserverArgs(dir string, f *files, etcdPort, port int) []string {
	return []string{
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(etcdPort),
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--advertise-address=127.0.0.1",
		// The endpoint reconciler rejects a loopback advertise address; nothing here needs the
		// kubernetes Service to have endpoints.
		"--endpoint-reconciler-type=none",
		"--cert-dir=" + filepath.Join(dir, "apiserver"),
		"--tls-cert-file=" + f.apiserverCert,
		"--tls-private-key-file=" + f.apiserverKey,
		"--client-ca-file=" + f.caCert,
		"--requestheader-client-ca-file=" + f.frontProxyCA,
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + f.proxyClientCert,
		"--proxy-client-key-file=" + f.proxyClientKey,
		"--service-account-key-file=" + f.saPub,
		"--service-account-signing-key-file=" + f.saKey,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=" + ServiceCIDR,
		"--authorization-mode=Node,RBAC",
		"--allow-privileged=true",
		"--profiling=false",
	}
}

func controllerManagerArgs(dir string, f *files, port int) []string {
	return []string{
		"--kubeconfig=" + f.kcmKubeconfig,
		"--authentication-kubeconfig=" + f.kcmKubeconfig,
		"--authorization-kubeconfig=" + f.kcmKubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(dir, "controller-manager"),
		// Deployments, ReplicaSets, EndpointSlices, garbage collector, namespaces,
		// service-account tokens, ... (every controller enabled by default).
		"--controllers=*",
		"--root-ca-file=" + f.caCert,
		"--service-account-private-key-file=" + f.saKey,
		"--use-service-account-credentials=true",
		"--cluster-signing-cert-file=" + f.caCert,
		"--cluster-signing-key-file=" + f.caKey,
		"--service-cluster-ip-range=" + ServiceCIDR,
		"--leader-elect=false",
		"--allocate-node-cidrs=false",
		"--kube-api-qps=200",
		"--kube-api-burst=400",
		"--profiling=false",
	}
}

func schedulerArgs(f *files, port int) []string {
	return []string{
		"--kubeconfig=" + f.schedulerKubeconf,
		"--authentication-kubeconfig=" + f.schedulerKubeconf,
		"--authorization-kubeconfig=" + f.schedulerKubeconf,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--leader-elect=false",
		"--profiling=false",
	}
}

func kwokArgs(f *files) []string {
	return []string{
		"--kubeconfig=" + f.kwokKubeconfig,
		"--config=" + f.kwokConfig,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + FakeNodeAnnotation + "=fake",
		"--cidr=" + PodCIDR,
		"--node-lease-duration-seconds=40",
	}
}

func nodeReady(ctx context.Context, cs kubernetes.Interface, name string) error {
	node, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	for _, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
			return nil
		}
	}
	return fmt.Errorf("node %s is not Ready", name)
}

func serviceAccountExists(ctx context.Context, cs kubernetes.Interface, namespace, name string) error {
	_, err := cs.CoreV1().ServiceAccounts(namespace).Get(ctx, name, metav1.GetOptions{})
	return err
}
