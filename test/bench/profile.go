//go:build bench

package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/inferencepool-operator/inferencepool-operator/test/scale"
)

// profiler takes the operator's profiles through its pprof endpoint.
type profiler struct {
	op    *scale.OperatorProcess
	dir   string
	wg    sync.WaitGroup
	mu    sync.Mutex
	files []string
	errs  []error
}

// cpu profiles the operator's CPU for seconds from now (its start), in the background.
func (p *profiler) cpu(ctx context.Context, seconds int) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.save(ctx, "profile", fmt.Sprintf("seconds=%d", seconds), "cpu.pprof")
	}()
}

// heap saves a heap profile (after a GC) now.
func (p *profiler) heap(ctx context.Context, file string) { p.save(ctx, "heap", "gc=1", file) }

func (p *profiler) save(ctx context.Context, name, query, file string) {
	path := filepath.Join(p.dir, file)
	err := p.op.Profile(ctx, name, query, path)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.errs = append(p.errs, err)
		return
	}
	p.files = append(p.files, path)
}

// wait waits for the CPU profile and returns the files saved.
func (p *profiler) wait() ([]string, error) {
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.files, errors.Join(p.errs...)
}
