package cluster

import (
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Credentials identify a client of the API server: a client certificate or a bearer token.
type Credentials struct {
	CertPEM, KeyPEM []byte
	Token           string
}

// WriteKubeconfig writes a self-contained kubeconfig (all data inline, no file references,
// so it stays valid when read from another mount namespace or chroot) for server, trusting
// caPEM, authenticating with creds.
func WriteKubeconfig(path, server string, caPEM []byte, creds Credentials) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos["user"] = &clientcmdapi.AuthInfo{
		ClientCertificateData: creds.CertPEM,
		ClientKeyData:         creds.KeyPEM,
		Token:                 creds.Token,
	}
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "user"}
	cfg.CurrentContext = "local"
	return clientcmd.WriteToFile(*cfg, path)
}

// restConfig is the in-memory equivalent of WriteKubeconfig.
func restConfig(server string, caPEM []byte, creds Credentials) *rest.Config {
	return &rest.Config{
		Host:        server,
		BearerToken: creds.Token,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   caPEM,
			CertData: creds.CertPEM,
			KeyData:  creds.KeyPEM,
		},
		// Tests create many objects quickly; client-side throttling only slows them down.
		QPS:   200,
		Burst: 400,
	}
}
