// Command cluster runs a test cluster (package test/cluster), optionally with Envoy Gateway
// (package test/envoygateway), in the background for manual work, and stops it again:
//
//	cluster up   [--dir DIR] [--envoy-gateway]   start (or find) the cluster; print its kubeconfig path
//	cluster down [--dir DIR]                     stop it and remove DIR; leaves no process behind
//
// `make cluster-up` / `make cluster-down` run it with DIR = tmp/cluster (git-ignored). `up`
// builds the binaries in the foreground (slow on the first run), then starts a detached
// supervisor (`cluster serve`) that owns every component: components die with it, and it stops
// them on SIGTERM or when one of them exits. `down` signals the supervisor, then kills any
// component it recorded that is somehow still running (matching pid and start time, so a
// recycled pid is never hit), and removes DIR.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/inferencepool-operator/inferencepool-operator/test/cluster"
	"github.com/inferencepool-operator/inferencepool-operator/test/envoygateway"
)

// state is written to DIR/state.json by the supervisor once everything is ready.
type state struct {
	Kubeconfig   string
	Server       string
	EnvoyGateway bool
	Components   []proc
}

// proc identifies a process by pid and start time (field 22 of /proc/<pid>/stat), which
// together never name a different process.
type proc struct {
	Name  string
	Pid   int
	Start string
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	dir := fs.String("dir", filepath.Join(cluster.RepoRoot(), "tmp", "cluster"), "state directory")
	withEG := fs.Bool("envoy-gateway", false, "also run Envoy Gateway with GatewayClass "+envoygateway.DefaultGatewayClass+" (needs root)")
	_ = fs.Parse(os.Args[2:])
	abs, err := filepath.Abs(*dir)
	if err != nil {
		fail(err)
	}
	switch os.Args[1] {
	case "up":
		err = up(abs, *withEG)
	case "serve":
		err = serve(abs, *withEG)
	case "down":
		err = down(abs)
	default:
		usage()
	}
	if err != nil {
		fail(err)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: cluster up|down [--dir DIR] [--envoy-gateway]")
	os.Exit(2)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "cluster:", err)
	os.Exit(1)
}

func up(dir string, withEG bool) error {
	if s, err := readState(dir); err == nil && supervisorAlive(dir) {
		fmt.Fprintf(os.Stderr, "cluster already running (API server %s)\n", s.Server)
		fmt.Println(s.Kubeconfig)
		return nil
	}
	if _, err := os.Stat(dir); err == nil {
		fmt.Fprintf(os.Stderr, "cleaning up a stopped cluster in %s\n", dir)
		if err := down(dir); err != nil {
			return err
		}
	}
	tools := []string{"kubernetes", "etcd", "kwok"}
	if withEG {
		tools = append(tools, "envoy-gateway")
	}
	for _, tool := range tools {
		if _, err := cluster.BuildTool(tool); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	logFile := filepath.Join(dir, "supervisor.log")
	log, err := os.Create(logFile)
	if err != nil {
		return err
	}
	defer func() { _ = log.Close() }()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"serve", "--dir", dir}
	if withEG {
		args = append(args, "--envoy-gateway")
	}
	cmd := exec.Command(self, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlives this command and its terminal
	if err := cmd.Start(); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "supervisor.json"), identify("supervisor", cmd.Process.Pid)); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(5 * time.Minute)
	for {
		if s, err := readState(dir); err == nil {
			fmt.Fprintf(os.Stderr, "cluster running: API server %s, logs in %s\n", s.Server, dir)
			fmt.Println(s.Kubeconfig)
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("supervisor exited (%v); %s:\n%s", err, logFile, readTail(logFile))
		case <-deadline:
			return fmt.Errorf("cluster not ready after 5 minutes; see %s", logFile)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func serve(dir string, withEG bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer stop()
	c, err := cluster.Start(ctx, cluster.Options{Dir: filepath.Join(dir, "cluster"), Progress: os.Stdout})
	if err != nil {
		return err
	}
	defer func() {
		if err := c.Stop(); err != nil {
			fmt.Println("stopping cluster:", err)
		}
	}()
	s := state{Server: c.Server, Kubeconfig: filepath.Join(dir, "kubeconfig"), EnvoyGateway: withEG}
	for _, p := range c.Processes() {
		s.Components = append(s.Components, identify(p.Name, p.Pid()))
	}
	healthy := c.Healthy
	if withEG {
		eg, err := envoygateway.Start(ctx, c, envoygateway.Options{Progress: os.Stdout})
		if err != nil {
			return err
		}
		defer func() {
			if err := eg.Stop(); err != nil {
				fmt.Println("stopping envoy gateway:", err)
			}
		}()
		if err := envoygateway.CreateGatewayClass(ctx, c.RESTConfig(), envoygateway.DefaultGatewayClass); err != nil {
			return err
		}
		healthy = func() error { return errors.Join(c.Healthy(), eg.Healthy()) }
		s.Components = append(s.Components, identify("envoy-gateway", eg.Pid()))
	}
	kubeconfig, err := os.ReadFile(c.Kubeconfig)
	if err != nil {
		return err
	}
	if err := os.WriteFile(s.Kubeconfig, kubeconfig, 0o600); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "state.json"), s); err != nil {
		return err
	}
	fmt.Println("ready")
	for {
		select {
		case <-ctx.Done():
			fmt.Println("stopping")
			return nil
		case <-time.After(2 * time.Second):
			if err := healthy(); err != nil {
				return fmt.Errorf("a component died, stopping the rest: %w", err)
			}
		}
	}
}

func down(dir string) error {
	var sup proc
	if err := readJSON(filepath.Join(dir, "supervisor.json"), &sup); err == nil && sameProcess(sup) {
		_ = syscall.Kill(sup.Pid, syscall.SIGTERM)
		deadline := time.Now().Add(60 * time.Second)
		for sameProcess(sup) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if sameProcess(sup) {
			_ = syscall.Kill(sup.Pid, syscall.SIGKILL) // its components die with it
		}
	}
	if s, err := readState(dir); err == nil {
		for _, p := range s.Components {
			if sameProcess(p) {
				fmt.Fprintf(os.Stderr, "killing leftover %s (pid %d)\n", p.Name, p.Pid)
				_ = syscall.Kill(-p.Pid, syscall.SIGKILL) // each component leads its own group
			}
		}
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if mounted, err := envoygateway.MountedUnder(dir); err != nil || mounted != "" {
		return fmt.Errorf("not removing %s: %q is mounted (%v)", dir, mounted, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "cluster stopped, %s removed\n", dir)
	return nil
}

func supervisorAlive(dir string) bool {
	var sup proc
	return readJSON(filepath.Join(dir, "supervisor.json"), &sup) == nil && sameProcess(sup)
}

func identify(name string, pid int) proc {
	start, _ := startTime(pid)
	return proc{Name: name, Pid: pid, Start: start}
}

func sameProcess(p proc) bool {
	start, err := startTime(p.Pid)
	return err == nil && p.Start != "" && start == p.Start
}

// startTime returns field 22 of /proc/<pid>/stat: when the process started, in clock ticks
// since boot. A zombie counts as gone.
func startTime(pid int) (string, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", err
	}
	i := strings.LastIndexByte(string(data), ')') // the command name may contain spaces
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 20 || fields[0] == "Z" {
		return "", errors.New("no such process")
	}
	return fields[19], nil
}

func readState(dir string) (*state, error) {
	s := &state{}
	return s, readJSON(filepath.Join(dir, "state.json"), s)
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// writeJSON writes atomically, so a reader never sees half a file.
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path+".tmp", data, 0o600); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

func readTail(path string) string {
	data, _ := os.ReadFile(path)
	if len(data) > 3000 {
		data = data[len(data)-3000:]
	}
	return string(data)
}
