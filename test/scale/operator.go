package scale

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/inferencepool-operator/inferencepool-operator/test/cluster"
	testenv "github.com/inferencepool-operator/inferencepool-operator/test/envtest"

	"github.com/inferencepool-operator/inferencepool-operator/test/kit"
)

// BuildOperator builds the operator's binary (./cmd, as the image does) into dir.
func BuildOperator(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "manager")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd")
	cmd.Dir = testenv.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd: %v: %s", err, out)
	}
	return bin, nil
}

// OperatorProcess is the operator running as its own process, so that its memory is its own.
type OperatorProcess struct {
	Proc *cluster.Process
	// metrics is the address of its metrics endpoint; pprof of its pprof endpoint, or empty.
	metrics, pprof string
}

// StartOperator runs bin against kubeconfig as cmd/main.go runs in the Deployment, minus leader
// election unless args turn it on; metrics, probes and (with pprof) the pprof endpoint on free
// local ports. args come last: they add flags or override these.
func StartOperator(bin, kubeconfig, logFile string, pprof bool, args ...string) (*OperatorProcess, error) {
	addrs, err := FreeAddrs(3)
	if err != nil {
		return nil, err
	}
	op := &OperatorProcess{metrics: addrs[0]}
	pprofAddr := "0"
	if pprof {
		op.pprof, pprofAddr = addrs[2], addrs[2]
	}
	op.Proc, err = cluster.StartProcess("operator", logFile, nil, bin, append([]string{
		"--kubeconfig=" + kubeconfig, "--leader-elect=false",
		"--metrics-bind-address=" + addrs[0], "--health-probe-bind-address=" + addrs[1], "--pprof-bind-address=" + pprofAddr,
	}, args...)...)
	return op, err
}

// Running fails when the operator has exited.
func (op *OperatorProcess) Running() error {
	if exited, err := op.Proc.Exited(); exited {
		return fmt.Errorf("the operator exited (%v); its log ends with:\n%s", err, op.Proc.Tail(4000))
	}
	return nil
}

func (op *OperatorProcess) Stop() error { return op.Proc.Stop(10 * time.Second) }

// Profile saves the pprof profile name (with query) to file, waiting for the endpoint to come up.
func (op *OperatorProcess) Profile(ctx context.Context, name, query, file string) error {
	url := "http://" + op.pprof + "/debug/pprof/" + name + "?" + query
	var resp *http.Response
	err := kit.Poll(ctx, kit.Options{Timeout: 30 * time.Second, Interval: 20 * time.Millisecond, What: "GET " + url}, func(ctx context.Context) (err error) {
		resp, err = kit.Get(context.WithoutCancel(ctx), url, false) // the body outlives the poll
		return err
	})
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// FreeAddrs returns n local addresses whose ports were free a moment ago.
func FreeAddrs(n int) ([]string, error) {
	var out []string
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().String())
	}
	return out, nil
}
