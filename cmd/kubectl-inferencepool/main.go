// Command kubectl-inferencepool is the kubectl plugin of inferencepool-operator: `kubectl
// inferencepool describe pool|gateway|route NAME` shows the chain from your object to what the
// operator generated for it and Envoy Gateway's verdict on each part; `kubectl inferencepool
// analyze` names what is wrong and how to fix it (docs/troubleshooting.md). It reads with your
// kubeconfig and never writes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inferencepool-operator/inferencepool-operator/pkg/inspect"
)

// version is the plugin's release, set at build time (-ldflags "-X main.version=...").
var version = "dev"

// errBroken makes the plugin exit 1 without printing more: the output says what is broken.
var errBroken = errors.New("something in the chain is broken")

func main() {
	if err := newCommand(os.Stdout, nil).Execute(); err != nil {
		if !errors.Is(err, errBroken) {
			fmt.Fprintln(os.Stderr, "error:", err)
		}
		os.Exit(1)
	}
}

// newCommand builds the plugin's command. newClient, when set, replaces the client built from
// the kubeconfig flags (tests pass one for their API server).
func newCommand(out io.Writer, newClient func() (client.Client, error)) *cobra.Command {
	flags := genericclioptions.NewConfigFlags(true)
	var format string
	var allNamespaces bool
	if newClient == nil {
		newClient = func() (client.Client, error) {
			cfg, err := flags.ToRESTConfig()
			if err != nil {
				return nil, err
			}
			return client.New(cfg, client.Options{Scheme: inspect.Scheme})
		}
	}
	namespace := func() (string, error) {
		ns, _, err := flags.ToRawKubeConfigLoader().Namespace()
		if err != nil && flags.Namespace != nil && *flags.Namespace != "" {
			return *flags.Namespace, nil
		}
		return ns, err
	}
	load := func(ctx context.Context) (*inspect.Cluster, error) {
		c, err := newClient()
		if err != nil {
			return nil, err
		}
		return inspect.Load(ctx, c)
	}
	output := func() inspect.Output {
		return inspect.Output{Format: format, Color: (format == "" || format == "text") && isTerminal(out)}
	}

	root := &cobra.Command{
		Use:           "kubectl-inferencepool",
		Short:         "See and debug inference routing through inferencepool-operator",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	flags.AddFlags(root.PersistentFlags())

	describe := &cobra.Command{
		Use:   "describe pool|gateway|route NAME",
		Short: "Show the chain from your object to what was generated for it, with each verdict; exit 1 when a part is broken",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, err := namespace()
			if err != nil {
				return err
			}
			cl, err := load(cmd.Context())
			if err != nil {
				return err
			}
			tree, err := inspect.Describe(cl, args[0], types.NamespacedName{Namespace: ns, Name: args[1]})
			if err != nil {
				return err
			}
			if err := output().Tree(out, tree); err != nil {
				return err
			}
			if tree.AnyBroken() {
				return errBroken
			}
			return nil
		},
	}
	describe.Flags().StringVarP(&format, "output", "o", "", "text (default), json or yaml")

	analyze := &cobra.Command{
		Use:   "analyze",
		Short: "Check pools, routes, Gateways, classes and your policies; exit 1 on an error finding",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ns := ""
			if !allNamespaces {
				var err error
				if ns, err = namespace(); err != nil {
					return err
				}
			}
			cl, err := load(cmd.Context())
			if err != nil {
				return err
			}
			fs := inspect.Analyze(cl, ns)
			if err := output().Findings(out, fs); err != nil {
				return err
			}
			for _, f := range fs {
				if f.Severity == inspect.Error {
					return errBroken
				}
			}
			return nil
		},
	}
	analyze.Flags().StringVarP(&format, "output", "o", "", "text (default), json or yaml")
	analyze.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "every namespace")

	versionCmd := &cobra.Command{
		Use:   "version",
		Short: "Print the plugin's version and, when it can read it, the operator's",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(out, "plugin: %s\n", version)
			c, err := newClient()
			if err == nil {
				var op string
				if op, err = operatorVersion(cmd.Context(), c); err == nil {
					fmt.Fprintf(out, "operator: %s\n", op)
					return nil
				}
			}
			fmt.Fprintf(out, "operator: unknown (%v)\n", err)
			return nil
		},
	}
	root.AddCommand(describe, analyze, versionCmd)
	return root
}

// operatorVersion reads the image of the operator's Deployments (whose selector has
// app.kubernetes.io/name=inferencepool-operator on every install path).
func operatorVersion(ctx context.Context, c client.Client) (string, error) {
	list := &appsv1.DeploymentList{}
	if err := c.List(ctx, list); err != nil {
		return "", err
	}
	var out []string
	for _, d := range list.Items {
		if d.Spec.Selector == nil || d.Spec.Selector.MatchLabels["app.kubernetes.io/name"] != "inferencepool-operator" {
			continue
		}
		for _, ctr := range d.Spec.Template.Spec.Containers {
			if ctr.Name == "manager" || len(d.Spec.Template.Spec.Containers) == 1 {
				out = append(out, fmt.Sprintf("%s (%s/%s)", ctr.Image, d.Namespace, d.Name))
			}
		}
	}
	if len(out) == 0 {
		return "", errors.New("no Deployment selects app.kubernetes.io/name=inferencepool-operator")
	}
	return strings.Join(out, ", "), nil
}

// isTerminal tells whether w is a terminal (colour only there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
