//go:build bench

package bench

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
)

// buildOperator builds the operator's binary (./cmd, as the image does) into dir.
func buildOperator(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "manager")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd")
	cmd.Dir = testenv.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd: %v: %s", err, out)
	}
	return bin, nil
}

// operatorProcess is the operator running as its own process, so that its memory is its own.
type operatorProcess struct {
	proc *cluster.Process
	// metrics is the address of its metrics endpoint; pprof of its pprof endpoint, or empty.
	metrics, pprof string
}

// startOperator runs bin against kubeconfig as cmd/main.go runs in the Deployment, minus leader
// election; metrics, probes and (with pprof) the pprof endpoint on free local ports.
func startOperator(bin, kubeconfig, logFile string, pprof bool) (*operatorProcess, error) {
	addrs, err := freeAddrs(3)
	if err != nil {
		return nil, err
	}
	op := &operatorProcess{metrics: addrs[0]}
	pprofAddr := "0"
	if pprof {
		op.pprof, pprofAddr = addrs[2], addrs[2]
	}
	op.proc, err = cluster.StartProcess("operator", logFile, nil, bin,
		"--kubeconfig="+kubeconfig, "--leader-elect=false",
		"--metrics-bind-address="+addrs[0], "--health-probe-bind-address="+addrs[1], "--pprof-bind-address="+pprofAddr)
	return op, err
}

// running fails when the operator has exited.
func (op *operatorProcess) running() error {
	if exited, err := op.proc.Exited(); exited {
		return fmt.Errorf("the operator exited (%v); its log ends with:\n%s", err, op.proc.Tail(4000))
	}
	return nil
}

func (op *operatorProcess) stop() error { return op.proc.Stop(10 * time.Second) }

// profile saves the pprof profile name (with query) to file, waiting for the endpoint to come up.
func (op *operatorProcess) profile(ctx context.Context, name, query, file string) error {
	url := "http://" + op.pprof + "/debug/pprof/" + name + "?" + query
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := get(ctx, url)
		if err == nil {
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
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("GET %s: %w", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(ctx context.Context, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return http.DefaultClient.Do(req)
}

// freeAddrs returns n local addresses whose ports were free a moment ago.
func freeAddrs(n int) ([]string, error) {
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
