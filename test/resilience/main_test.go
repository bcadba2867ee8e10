//go:build resilience

package resilience

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/inferencepool-operator/inferencepool-operator/test/scale"
)

// operatorBinary is the operator's manager, built once from ./cmd by TestMain.
var operatorBinary string

func TestMain(m *testing.M) {
	// The harness's informers log through controller-runtime; the API server's outage would
	// fill the test log with their retries.
	ctrllog.SetLogger(logr.Discard())
	klog.SetLogger(logr.Discard())
	dir, err := os.MkdirTemp("", "resilience-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	operatorBinary, err = scale.BuildOperator(context.Background(), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}
