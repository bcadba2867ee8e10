//go:build e2e

package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// helperEnv makes the test binary start a cluster, print its pids and directory, and panic:
// the crash TestComponentsDieWithTheirParent checks leaves nothing running.
const helperEnv = "CLUSTER_TEST_PANIC_HELPER"

type helperReport struct {
	Pids []int
	Dir  string
}

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		c, err := Start(context.Background(), Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		r := helperReport{Dir: c.Dir}
		for _, p := range c.Processes() {
			r.Pids = append(r.Pids, p.Pid())
		}
		_ = json.NewEncoder(os.Stdout).Encode(r)
		panic("test helper: crashing with a running cluster")
	}
	os.Exit(m.Run())
}

// TestLifecycle starts a cluster, checks the controllers the system tests rely on
// (ownerReference garbage collection, namespace deletion, service-account tokens), stops it
// and checks no component process and no directory is left.
func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	c, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = c.Stop()
		}
	}()
	if got := len(c.Processes()); got != 5 {
		t.Fatalf("%d processes, want etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok", got)
	}
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("ownerReference cascade", func(t *testing.T) {
		owner, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		dependent := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "dependent", OwnerReferences: []metav1.OwnerReference{
			{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID},
		}}}
		if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, dependent, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := cs.CoreV1().ConfigMaps("default").Delete(ctx, "owner", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitGone(t, func() error {
			_, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "dependent", metav1.GetOptions{})
			return err
		})
	})

	t.Run("namespace deletion", func(t *testing.T) {
		ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "doomed"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		replicas := int32(2)
		labels := map[string]string{"app": "x"}
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "x"},
			Spec: appsv1.DeploymentSpec{
				Replicas: &replicas,
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "example.invalid/x"}}},
				},
			},
		}
		if _, err := cs.AppsV1().Deployments(ns.Name).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			pods, err := cs.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{})
			if err == nil && len(pods.Items) == 2 && pods.Items[0].Status.PodIP != "" && pods.Items[1].Status.PodIP != "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("pods of the Deployment not running: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err := cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitGone(t, func() error {
			_, err := cs.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
			return err
		})
	})

	t.Run("service-account token", func(t *testing.T) {
		tr, err := cs.CoreV1().ServiceAccounts("default").CreateToken(ctx, "default", &authnTokenRequest, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		review, err := cs.AuthenticationV1().TokenReviews().Create(ctx, tokenReview(tr.Status.Token), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !review.Status.Authenticated || review.Status.User.Username != "system:serviceaccount:default:default" {
			t.Errorf("token review: %+v", review.Status)
		}
	})

	pids := c.Processes()
	dir := c.Dir
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	for _, p := range pids {
		if alive(p.Pid()) {
			t.Errorf("%s (pid %d) still running after Stop", p.Name, p.Pid())
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cluster directory %s still there after Stop (%v)", dir, err)
	}
}

// TestComponentsDieWithTheirParent runs a test binary that starts a cluster and panics, and
// checks that every component process dies with it.
func TestComponentsDieWithTheirParent(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var r helperReport
	line, readErr := bufio.NewReader(out).ReadBytes('\n')
	waitErr := cmd.Wait()
	if readErr != nil || json.Unmarshal(line, &r) != nil {
		t.Fatalf("helper reported %q (%v), exited %v", line, readErr, waitErr)
	}
	defer func() { _ = os.RemoveAll(r.Dir) }() // nobody was left to remove it
	if waitErr == nil {
		t.Fatal("helper exited cleanly; it should have panicked")
	}
	if len(r.Pids) != 5 {
		t.Fatalf("helper reported %d pids, want 5", len(r.Pids))
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range r.Pids {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if alive(pid) {
			t.Errorf("component pid %d outlived the crashed test binary", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL) // a pid this test's helper started
		}
	}
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses, which may contain spaces.
	for i := len(data) - 1; i > 0; i-- {
		if data[i] == ')' && i+2 < len(data) {
			return data[i+2] != 'Z'
		}
	}
	return true
}

func waitGone(t *testing.T, get func() error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := get()
		if apierrors.IsNotFound(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still there after 60s (%v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var authnTokenRequest = authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{Audiences: []string{"test"}}}

func tokenReview(token string) *authenticationv1.TokenReview {
	return &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token, Audiences: []string{"test"}}}
}
