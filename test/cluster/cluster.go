// Package cluster runs a Kubernetes control plane from source on 127.0.0.1 for system tests:
// etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok with one fake node,
// all built by hack/build-tool.sh. Deployments become Available with Ready fake pods that
// have pod IPs, Services get EndpointSlices, namespaces and ownerReference cascades delete,
// service-account tokens work. No container runtime is involved: pods never run anything.
//
// Every component listens on a free port of 127.0.0.1 chosen at start, so clusters never
// collide with each other or with a developer's processes. Each component runs in its own
// process group and dies with the process that started it (see StartProcess), so a
// panicking or killed test leaves nothing behind.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/inferencepool-operator/inferencepool-operator/test/kit"
)

// Options configure Start. The zero value is a cluster in a fresh temporary directory.
type Options struct {
	// Dir holds the certificates, kubeconfigs, etcd data and component logs. Empty means a
	// new temporary directory, which Stop removes unless KeepDir is set.
	Dir string
	// KeepDir keeps a temporary Dir after Stop, to read the component logs.
	KeepDir bool
	// NodeName is the fake node's name. Default "kwok-node-0".
	NodeName string
	// Progress receives a line per startup step. Nil discards them.
	Progress io.Writer
	// APIServerOnly starts etcd and kube-apiserver only: no controller-manager, scheduler, kwok
	// or fake node (nothing the tests of a controller against the API server need; it starts
	// faster and leaves the cores to what is measured). Namespaces, garbage collection and
	// EndpointSlices are then the test's to do.
	APIServerOnly bool
	// APIServerArgs are added to kube-apiserver's command line, e.g. an audit log's flags.
	APIServerArgs []string
}

// Cluster is a running control plane.
type Cluster struct {
	// Dir holds everything the cluster writes; logs are in Dir/logs/<component>.log.
	Dir string
	// Kubeconfig is the path of an admin (system:masters) kubeconfig.
	Kubeconfig string
	// Server is the API server's URL, https://127.0.0.1:<APIServerPort>.
	Server        string
	APIServerPort int
	// CACertPEM is the cluster CA: it signed the API server's serving certificate and every
	// client certificate, and it is what pods see as kube-root-ca.crt.
	CACertPEM []byte
	// NodeName is the fake node pods are scheduled to.
	NodeName string

	config *rest.Config
	procs  []*Process // in start order
	// apiserver is how kube-apiserver was started, to start it again (RestartAPIServer).
	apiserver struct {
		binary string
		args   []string
	}
	ca        *keyPair // signs client certificates of users (UserCredentials)
	removeDir bool
	stopOnce  sync.Once
	stopErr   error
}

// Start builds (first run only) and starts a cluster and waits until it is usable: API server
// ready, controller-manager and scheduler healthy, the fake node Ready and the default
// namespace's ServiceAccount created. On error everything started is stopped again.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	c := &Cluster{Dir: opts.Dir, NodeName: opts.NodeName}
	if c.NodeName == "" {
		c.NodeName = "kwok-node-0"
	}
	if c.Dir == "" {
		if c.Dir, err = os.MkdirTemp("", "cluster-"); err != nil {
			return nil, err
		}
		c.removeDir = !opts.KeepDir
	}
	if c.Dir, err = filepath.Abs(c.Dir); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = c.Stop()
		}
	}()
	progress := func(format string, args ...any) {
		if opts.Progress != nil {
			_, _ = fmt.Fprintf(opts.Progress, "cluster: "+format+"\n", args...)
		}
	}
	for _, d := range []string{"pki", "logs", "etcd", "apiserver", "controller-manager", "kwok"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, d), 0o700); err != nil {
			return nil, err
		}
	}

	progress("building binaries (first run only)")
	k8sBin, err := BuildTool("kubernetes")
	if err != nil {
		return nil, err
	}
	etcdBin, err := BuildTool("etcd")
	if err != nil {
		return nil, err
	}
	var kwokBin string
	if !opts.APIServerOnly {
		if kwokBin, err = BuildTool("kwok"); err != nil {
			return nil, err
		}
	}

	ports, err := freePorts(5)
	if err != nil {
		return nil, err
	}
	etcdPort, etcdPeerPort, kcmPort, schedulerPort := ports[0], ports[1], ports[3], ports[4]
	c.APIServerPort = ports[2]
	c.Server = "https://127.0.0.1:" + strconv.Itoa(c.APIServerPort)

	progress("writing certificates and kubeconfigs to %s", c.Dir)
	f, err := c.writeFiles()
	if err != nil {
		return nil, err
	}

	progress("starting etcd on 127.0.0.1:%d", etcdPort)
	etcd, err := c.start("etcd", nil, filepath.Join(etcdBin, "etcd"), etcdArgs(c.Dir, etcdPort, etcdPeerPort)...)
	if err != nil {
		return nil, err
	}
	if err := waitFor(ctx, 60*time.Second, etcd, func(ctx context.Context) error {
		return kit.GetOK(ctx, fmt.Sprintf("http://127.0.0.1:%d/health", etcdPort), false)
	}); err != nil {
		return nil, err
	}

	progress("starting kube-apiserver on %s", c.Server)
	c.apiserver.binary = filepath.Join(k8sBin, "kube-apiserver")
	c.apiserver.args = append(apiserverArgs(c.Dir, f, etcdPort, c.APIServerPort), opts.APIServerArgs...)
	if err := c.startAPIServer(ctx); err != nil {
		return nil, err
	}
	if opts.APIServerOnly {
		progress("ready (API server only); kubeconfig %s", c.Kubeconfig)
		return c, nil
	}
	cs, err := kubernetes.NewForConfig(c.config)
	if err != nil {
		return nil, err
	}

	progress("starting kube-controller-manager, kube-scheduler and kwok")
	kcm, err := c.start("kube-controller-manager", nil, filepath.Join(k8sBin, "kube-controller-manager"), controllerManagerArgs(c.Dir, f, kcmPort)...)
	if err != nil {
		return nil, err
	}
	scheduler, err := c.start("kube-scheduler", nil, filepath.Join(k8sBin, "kube-scheduler"), schedulerArgs(f, schedulerPort)...)
	if err != nil {
		return nil, err
	}
	// HOME points into Dir so kwok never reads a developer's ~/.kwok/kwok.yaml.
	kwok, err := c.start("kwok", []string{"HOME=" + filepath.Join(c.Dir, "kwok")}, filepath.Join(kwokBin, "kwok"), kwokArgs(f)...)
	if err != nil {
		return nil, err
	}

	if err := waitFor(ctx, 60*time.Second, kcm, func(ctx context.Context) error {
		return kit.GetOK(ctx, fmt.Sprintf("https://127.0.0.1:%d/healthz", kcmPort), true)
	}); err != nil {
		return nil, err
	}
	if err := waitFor(ctx, 60*time.Second, scheduler, func(ctx context.Context) error {
		return kit.GetOK(ctx, fmt.Sprintf("https://127.0.0.1:%d/healthz", schedulerPort), true)
	}); err != nil {
		return nil, err
	}
	progress("registering fake node %s", c.NodeName)
	if err := createFakeNode(ctx, cs, c.NodeName); err != nil {
		return nil, fmt.Errorf("creating fake node: %w", err)
	}
	if err := waitFor(ctx, 60*time.Second, kwok, func(ctx context.Context) error {
		return nodeReady(ctx, cs, c.NodeName)
	}); err != nil {
		return nil, err
	}
	// Pods cannot be created in a namespace before its "default" ServiceAccount exists.
	if err := waitFor(ctx, 60*time.Second, kcm, func(ctx context.Context) error {
		return serviceAccountExists(ctx, cs, "default", "default")
	}); err != nil {
		return nil, err
	}
	progress("ready; kubeconfig %s", c.Kubeconfig)
	return c, nil
}

// startAPIServer starts kube-apiserver and waits until it is ready.
func (c *Cluster) startAPIServer(ctx context.Context) error {
	apiserver, err := c.start("kube-apiserver", nil, c.apiserver.binary, c.apiserver.args...)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(c.config)
	if err != nil {
		return err
	}
	return waitFor(ctx, 120*time.Second, apiserver, func(ctx context.Context) error {
		_, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err
	})
}

// StopAPIServer stops kube-apiserver (SIGTERM, SIGKILL after grace) and leaves the other
// components running: an API server outage, until StartAPIServer. Clients get connection
// refused meanwhile; etcd keeps the state.
func (c *Cluster) StopAPIServer(grace time.Duration) error {
	p := c.process("kube-apiserver")
	if p == nil {
		return errors.New("kube-apiserver is not running")
	}
	if err := p.Stop(grace); err != nil {
		return err
	}
	c.procs = slices.DeleteFunc(c.procs, func(q *Process) bool { return q == p })
	return nil
}

// StartAPIServer starts kube-apiserver again after StopAPIServer, with the same flags, port,
// certificates and etcd, and waits until it is ready. Its log goes on in the same file.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	if c.process("kube-apiserver") != nil {
		return errors.New("kube-apiserver is already running")
	}
	return c.startAPIServer(ctx)
}

// process returns the running component name, or nil.
func (c *Cluster) process(name string) *Process {
	for _, p := range c.procs {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// UserCredentials returns a client certificate of the cluster CA for user name in groups: an
// identity of its own, which RBAC can bind and the audit log names.
func (c *Cluster) UserCredentials(name string, groups ...string) (Credentials, error) {
	kp, err := c.ca.sign(certSpec{CommonName: name, Groups: groups, Client: true})
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{CertPEM: kp.CertPEM, KeyPEM: kp.KeyPEM}, nil
}

// UserConfig is the client configuration of creds (see UserCredentials).
func (c *Cluster) UserConfig(creds Credentials) *rest.Config {
	return restConfig(c.Server, c.CACertPEM, creds)
}

// WriteUserKubeconfig writes the kubeconfig of creds (see UserCredentials) to path.
func (c *Cluster) WriteUserKubeconfig(path string, creds Credentials) error {
	return WriteKubeconfig(path, c.Server, c.CACertPEM, creds)
}

// RESTConfig returns a copy of the admin client configuration.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.config) }

// Processes lists the running components in start order.
func (c *Cluster) Processes() []*Process { return append([]*Process(nil), c.procs...) }

// LogDir holds one log file per component.
func (c *Cluster) LogDir() string { return filepath.Join(c.Dir, "logs") }

// Healthy returns an error naming any component that has exited.
func (c *Cluster) Healthy() error {
	var errs []error
	for _, p := range c.procs {
		if exited, err := p.Exited(); exited {
			errs = append(errs, fmt.Errorf("%s exited (%v); log %s:\n%s", p.Name, err, p.LogFile, p.Tail(2000)))
		}
	}
	return errors.Join(errs...)
}

// Stop stops every component (newest first, each with its whole process group) and removes a
// temporary Dir. It is safe to call more than once and on a partly started cluster.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		var errs []error
		for i := len(c.procs) - 1; i >= 0; i-- {
			errs = append(errs, c.procs[i].Stop(10*time.Second))
		}
		if c.removeDir {
			errs = append(errs, os.RemoveAll(c.Dir))
		}
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}

func (c *Cluster) start(name string, env []string, binary string, args ...string) (*Process, error) {
	p, err := StartProcess(name, filepath.Join(c.LogDir(), name+".log"), env, binary, args...)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	return p, nil
}

// waitFor polls check until it succeeds, proc exits (an error with the end of its log), the
// timeout passes or ctx ends.
func waitFor(ctx context.Context, timeout time.Duration, proc *Process, check func(context.Context) error) error {
	err := kit.Poll(ctx, kit.Options{
		Timeout: timeout, What: "waiting for " + proc.Name,
		Abort: func() error {
			select {
			case <-proc.Done():
				return fmt.Errorf("%s exited before it was ready: %v", proc.Name, proc.err)
			default:
				return nil
			}
		},
	}, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return check(ctx)
	})
	if err != nil {
		return fmt.Errorf("%w; end of %s:\n%s", err, proc.LogFile, proc.Tail(3000))
	}
	return nil
}

// freePorts returns n distinct free TCP ports of 127.0.0.1, holding all listeners open until
// every port is chosen so that the same port is never returned twice.
func freePorts(n int) ([]int, error) {
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer func() { _ = l.Close() }()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// KeepDir keeps a temporary Dir when the cluster stops, to read its logs after a failure.
func (c *Cluster) KeepDir() { c.removeDir = false }
