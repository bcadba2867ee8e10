package envoygateway

// The throw-away root Envoy Gateway runs in: the files it reads from hard-coded paths, and the
// script that bind-mounts them in a private mount namespace and chroots into it.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/inferencepool-operator/inferencepool-operator/test/cluster"
)

// writeFiles writes what the controller reads inside its chroot: /certs from the envoy-gateway
// Secret, the service-account directory (a token for ServiceAccount, the cluster CA and the
// namespace, as the kubelet would mount them), and /eg with the configuration and a kubeconfig
// using the same token, so the controller is limited to the chart's RBAC.
func (eg *EnvoyGateway) writeFiles(ctx context.Context, c *cluster.Cluster, cs kubernetes.Interface, configYAML string) error {
	secret, err := cs.CoreV1().Secrets(Namespace).Get(ctx, "envoy-gateway", metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("certgen's envoy-gateway Secret: %w", err)
	}
	expiry := int64((48 * time.Hour).Seconds())
	tr, err := cs.CoreV1().ServiceAccounts(Namespace).CreateToken(ctx, ServiceAccount, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("token for %s/%s: %w", Namespace, ServiceAccount, err)
	}
	files := map[string][]byte{
		"certs/ca.crt":              secret.Data["ca.crt"],
		"certs/tls.crt":             secret.Data[corev1.TLSCertKey],
		"certs/tls.key":             secret.Data[corev1.TLSPrivateKeyKey],
		"serviceaccount/token":      []byte(tr.Status.Token),
		"serviceaccount/ca.crt":     c.CACertPEM,
		"serviceaccount/namespace":  []byte(Namespace),
		"config/envoy-gateway.yaml": []byte(configYAML),
	}
	for name, data := range files {
		if len(data) == 0 {
			return fmt.Errorf("no data for %s", name)
		}
		path := filepath.Join(eg.Dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return err
		}
	}
	return cluster.WriteKubeconfig(filepath.Join(eg.Dir, "config", "kubeconfig"), c.Server, c.CACertPEM,
		cluster.Credentials{Token: tr.Status.Token})
}

// chrootScript prepares the throw-away root and returns the shell script that, inside the
// private mount namespace unshare creates, mounts it and execs the controller chrooted.
func (eg *EnvoyGateway) chrootScript(binDir string) (string, error) {
	if err := os.MkdirAll(eg.root, 0o755); err != nil {
		return "", err
	}
	mounts := [][2]string{} // host path, path in root
	for _, d := range []string{"etc", "usr", "proc", "sys", "dev"} {
		mounts = append(mounts, [2]string{"/" + d, d})
	}
	// /bin, /lib, ... are symlinks into /usr on merged-/usr systems and directories elsewhere.
	for _, d := range []string{"bin", "sbin", "lib", "lib32", "lib64", "libx32"} {
		target, err := os.Readlink("/" + d)
		switch {
		case err == nil:
			if err := os.Symlink(target, filepath.Join(eg.root, d)); err != nil && !os.IsExist(err) {
				return "", err
			}
		case dirExists("/" + d):
			mounts = append(mounts, [2]string{"/" + d, d})
		}
	}
	mounts = append(mounts,
		[2]string{filepath.Join(eg.Dir, "certs"), "certs"},
		[2]string{filepath.Join(eg.Dir, "serviceaccount"), "var/run/secrets/kubernetes.io/serviceaccount"},
		[2]string{filepath.Join(eg.Dir, "config"), "eg"},
		[2]string{binDir, "opt/envoy-gateway"},
	)
	var b strings.Builder
	for _, m := range mounts {
		if err := os.MkdirAll(filepath.Join(eg.root, m[1]), 0o755); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "mount --rbind %s %s\n", shellQuote(m[0]), shellQuote(filepath.Join(eg.root, m[1])))
	}
	if err := os.MkdirAll(filepath.Join(eg.root, "tmp"), 0o755); err != nil {
		return "", err
	}
	if err := os.Chmod(filepath.Join(eg.root, "tmp"), 0o1777); err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "exec chroot %s /opt/envoy-gateway/envoy-gateway server --config-path=/eg/envoy-gateway.yaml\n",
		shellQuote(eg.root))
	return b.String(), nil
}

// MountedUnder returns a mount point at or below dir in this process's mount namespace, or
// "". Removing a directory with a bind mount of / below it would remove the host's files.
func MountedUnder(dir string) (string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
			return fields[4], nil
		}
	}
	return "", nil
}

func dirExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
