package main

// These tests run the demo binary as `make demo` does, on its own control plane: once with
// --once (the output must hold the shadow Service of config/samples' pool), and once in follow
// mode, stopped with SIGTERM (it must print a change made through its kubeconfig, exit 0 and
// leave no kube-apiserver or etcd behind).

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	"github.com/inferencepool-operator/inferencepool-operator/controllers"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

func init() {
	// The tests' own clients log through controller-runtime; nothing to show.
	ctrllog.SetLogger(logr.Discard())
}

// samplePool is the InferencePool of config/samples.
const samplePool = "vllm-llama3-8b-instruct"

func buildDemo(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "demo")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// demoArgs keeps the demo's files in dir, not in the repository's .demo/.
func demoArgs(dir string, extra ...string) []string {
	return append([]string{
		"--kubeconfig-out", filepath.Join(dir, "kubeconfig"),
		"--log-file", filepath.Join(dir, "operator.log"),
	}, extra...)
}

// block returns the YAML printed under the header "--- # <head>", up to the next header.
func block(out, head string) (string, bool) {
	_, rest, ok := strings.Cut(out, "--- # "+head+"\n")
	if !ok {
		return "", false
	}
	if i := strings.Index(rest, "\n--- # "); i >= 0 {
		rest = rest[:i+1]
	}
	if i := strings.Index(rest, "\n=== "); i >= 0 {
		rest = rest[:i+1]
	}
	return rest, true
}

func TestDemoOnce(t *testing.T) {
	bin, dir := buildDemo(t), t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, demoArgs(dir, "--once", "--yaml")...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("demo --once: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()

	// The plugin's trees come first: the pool's lists its generated shadow Service.
	_, poolTree, ok := strings.Cut(out, "$ kubectl inferencepool describe pool "+samplePool+" -n default\n")
	if !ok {
		t.Fatalf("no describe tree of the sample pool in the output:\n%s", out)
	}
	if !strings.Contains(poolTree, "Service/default/"+translate.ShadowServiceName(samplePool)) ||
		!strings.Contains(out, "kubectl inferencepool analyze -A") {
		t.Errorf("the pool's tree does not list its shadow Service, or the commands to try are missing:\n%s", out)
	}

	svcHead := "Service default/" + translate.ShadowServiceName(samplePool)
	body, ok := block(out, svcHead)
	if !ok {
		t.Fatalf("no %q in the output:\n%s", svcHead, out)
	}
	svc := &corev1.Service{}
	if err := yaml.UnmarshalStrict([]byte(body), svc); err != nil {
		t.Fatalf("the Service block is not a Service: %v\n%s", err, body)
	}
	if svc.Spec.ClusterIP != corev1.ClusterIPNone || svc.Spec.Selector["app"] != samplePool ||
		len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 8000 {
		t.Errorf("printed Service is not the sample pool's shadow Service:\n%s", body)
	}
	if svc.Labels[translate.LabelManagedBy] != translate.ManagedByValue {
		t.Errorf("printed Service lacks the managed-by label:\n%s", body)
	}
	if strings.Contains(out, "managedFields:") {
		t.Error("the output shows managedFields")
	}

	classBody, ok := block(out, "GatewayClass inference (generation 1)")
	if !ok || !strings.Contains(classBody, "reason: Accepted") {
		t.Errorf("no accepted GatewayClass status in the output:\n%s", out)
	}
	if _, ok := block(out, "InferencePool default/"+samplePool+" (generation 1)"); !ok {
		t.Errorf("no InferencePool status in the output:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "kubeconfig")); !os.IsNotExist(err) {
		t.Errorf("the kubeconfig of a stopped control plane is left behind (stat: %v)", err)
	}
}

// lineBuffer collects a process's output and tells when a line containing a string appeared.
type lineBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lineBuffer) read(r *bufio.Scanner) {
	for r.Scan() {
		b.mu.Lock()
		b.buf.WriteString(r.Text() + "\n")
		b.mu.Unlock()
	}
}

func (b *lineBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor waits until s appears in the output; it gives up when the output ends (closed) or
// after timeout.
func (b *lineBuffer) waitFor(t *testing.T, s string, closed <-chan struct{}, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(b.String(), s) {
		select {
		case <-closed:
			if !strings.Contains(b.String(), s) {
				t.Fatalf("the demo ended its output without %q:\n%s", s, b.String())
			}
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the demo's output after %v:\n%s", s, timeout, b.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// descendants lists the live processes below pid, from /proc, with their command names.
func descendants(pid int) map[int]string {
	parent, comm := map[int]int{}, map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces, so split after the last ")".
		s := string(stat)
		open, closing := strings.Index(s, "("), strings.LastIndex(s, ")")
		if open < 0 || closing < 0 {
			continue
		}
		fields := strings.Fields(s[closing+1:])
		if len(fields) < 2 || fields[0] == "Z" {
			continue // zombies are dead
		}
		ppid, _ := strconv.Atoi(fields[1])
		parent[p], comm[p] = ppid, s[open+1:closing]
	}
	out := map[int]string{}
	for p := range parent {
		for q := parent[p]; q > 1; q = parent[q] {
			if q == pid {
				out[p] = comm[p]
				break
			}
		}
	}
	return out
}

func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndex(s, ")")+1:])
	return len(fields) > 0 && fields[0] != "Z"
}

func TestDemoFollowsChangesAndStopsCleanly(t *testing.T) {
	bin, dir := buildDemo(t), t.TempDir()
	cmd := exec.Command(bin, demoArgs(dir, "--poll-interval", "200ms", "--yaml")...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := &lineBuffer{}
	readDone := make(chan struct{})
	go func() { out.read(bufio.NewScanner(stdout)); close(readDone) }()
	exited := make(chan error, 1)
	go func() { <-readDone; exited <- cmd.Wait() }() // Wait only after the output is read
	stopped := false
	defer func() {
		if !stopped { // a failed test must not leave the demo running
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(time.Minute):
				_ = cmd.Process.Kill()
			}
		}
	}()

	out.waitFor(t, "Watching for changes", readDone, 5*time.Minute)

	children := descendants(cmd.Process.Pid)
	names := strings.Join(mapValues(children), " ")
	if !strings.Contains(names, "kube-apiserver") || !strings.Contains(names, "etcd") {
		t.Fatalf("the demo's processes are %v, want a kube-apiserver and an etcd", children)
	}

	// The kubeconfig it printed works: delete the generated Service through it and watch the
	// demo report the operator re-creating it.
	kubeconfig, err := os.ReadFile(filepath.Join(dir, "kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{}
	key := client.ObjectKey{Namespace: "default", Name: translate.ShadowServiceName(samplePool)}
	if err := c.Get(context.Background(), key, svc); err != nil {
		t.Fatalf("reading the shadow Service through the demo's kubeconfig: %v", err)
	}
	before := len(out.String())
	if err := c.Delete(context.Background(), svc); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		later := out.String()[before:]
		if strings.Contains(later, "changed: Service "+key.String()) || strings.Contains(later, "new: Service "+key.String()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo did not report the re-created Service:\n%s", later)
		}
		time.Sleep(200 * time.Millisecond)
	}

	stopped = true
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("demo exited with %v after SIGTERM\nstderr:\n%s", err, stderr.String())
		}
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("demo still running a minute after SIGTERM:\n%s", out.String())
	}
	deadline = time.Now().Add(10 * time.Second)
	for pid, name := range children {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Errorf("process %d (%s) outlived the demo", pid, name)
				_ = syscall.Kill(pid, syscall.SIGKILL)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !strings.Contains(out.String(), "Stopping the control plane") {
		t.Errorf("the demo did not say it stopped the control plane:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "kubeconfig")); !os.IsNotExist(err) {
		t.Errorf("kubeconfig left behind (stat: %v)", err)
	}
}

func mapValues(m map[int]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
