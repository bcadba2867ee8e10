package cluster

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// Process is a child process the harness started in its own process group. The group is
// what Stop signals, so helpers the process forks die with it.
type Process struct {
	Name    string
	LogFile string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

// spawnRequests feeds the one OS thread that starts every child process. PR_SET_PDEATHSIG
// fires when the *thread* that forked a child exits, not the process; Go may retire threads,
// so children are started from a thread locked for the life of the process. With that, a
// test binary that panics or is killed takes its whole cluster down with it.
var spawnRequests = make(chan spawnRequest)

type spawnRequest struct {
	cmd    *exec.Cmd
	result chan error
}

func init() {
	go func() {
		runtime.LockOSThread() // never unlocked: this thread lives as long as the process
		for req := range spawnRequests {
			req.result <- req.cmd.Start()
		}
	}()
}

// StartProcess starts name (a binary path and args) with its output appended to logFile, in
// a new process group, killed with SIGKILL if this process dies. env is added to the
// current environment. The returned Process is reaped in the background.
func StartProcess(name, logFile string, env []string, binary string, args ...string) (*Process, error) {
	log, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	result := make(chan error)
	spawnRequests <- spawnRequest{cmd: cmd, result: result}
	if err := <-result; err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &Process{Name: name, LogFile: logFile, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = log.Close()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process id, which is also its process group id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Done is closed when the process has ended.
func (p *Process) Done() <-chan struct{} { return p.done }

// Stop sends SIGTERM to the process group, waits up to grace for the process to exit, then
// sends SIGKILL to the group. Either way it returns only once the process has been reaped,
// and it also kills whatever is left in the group.
func (p *Process) Stop(grace time.Duration) error {
	pgid := p.Pid()
	if exited, _ := p.Exited(); !exited {
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
		}
	}
	// Members of the group that outlived the leader.
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("killing process group of %s: %w", p.Name, err)
	}
	return nil
}

// Kill sends SIGKILL to the process group (kill -9: no shutdown, nothing released) and returns
// once the process has been reaped.
func (p *Process) Kill() error {
	if err := syscall.Kill(-p.Pid(), syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("killing %s: %w", p.Name, err)
	}
	<-p.done
	return nil
}

// Tail returns the last n bytes of the process log, for error messages.
func (p *Process) Tail(n int64) string {
	return tail(p.LogFile, n)
}

func tail(file string, n int64) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		_, _ = f.Seek(st.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}
