//go:build bench

package bench

import (
	"time"

	"github.com/inferencepool-operator/inferencepool-operator/test/scale"
)

// Result is what one run measured.
type Result struct {
	Pools int
	// Objects and Statuses are the numbers of generated objects and statuses the operator must write.
	Objects, Statuses int
	Setup             time.Duration

	// Operator is the cold start: from the operator's process start until the last expected
	// object or status was seen.
	Operator   time.Duration
	ColdWrites scale.WriteStats
	// Raw is the sequential raw writer's time for the same writes; RawWrites what it wrote.
	Raw       time.Duration
	RawWrites scale.WriteStats

	// SteadyWrites are the operator's writes during Steady after the cold start (the configured
	// window, or longer when the operator was still busy: see IdleAfter).
	Steady       time.Duration
	SteadyWrites []scale.Write

	// Increment pools (IncrementPercent of Pools) were added while the operator ran;
	// IncrementLags are, per pool, the time from its last input's write to its last output
	// (sorted); IncrementTotal from the first input write to the last output.
	IncrementPercent int
	Increment        int
	IncrementLags    []time.Duration
	IncrementTotal   time.Duration
	// IncrementTranslate is the harness's own work (translating the new pools, updating the
	// tracker) during the increment: it competed with the operator for the cores.
	IncrementTranslate time.Duration
	IncrementWrites    scale.WriteStats

	// Edit is the time from a pool's targetPort change to its shadow Service showing it;
	// EditAll until every output of the edit was there.
	Edit, EditAll time.Duration
	EditWrites    scale.WriteStats

	// ColdReconciles are the operator's reconciles until cold-start convergence, SteadyReconciles
	// those during the steady window, QueuedAfterSteady the reconciles still queued at its end;
	// IdleAfter is the time from convergence until no controller had work queued or running.
	// ColdCPU is the operator's CPU time during the cold start, AfterCPU from then until it was
	// idle or the steady window ended, whichever came later.
	ColdReconciles, SteadyReconciles string
	QueuedAfterSteady                float64
	IdleAfter                        time.Duration
	ColdCPU, AfterCPU                time.Duration

	// RawLoad and ColdLoad are the machine's load average at the start and end of the raw
	// writer's run and of the operator's cold start.
	RawLoad, ColdLoad [2]string

	// GoMemoryLimit is the operator's --go-memory-limit ("" for its default).
	GoMemoryLimit string
	// PeakRSS is the operator's VmHWM at the end; ColdRSS at cold-start convergence.
	PeakRSS, ColdRSS uint64
	// Unexpected are generated objects the translation does not expect.
	Unexpected []string
	// Profiles are the files of the profiles taken.
	Profiles []string
}
