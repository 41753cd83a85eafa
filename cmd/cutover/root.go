package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"

	"github.com/cutover-sh/cutover/engine/spec"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/kube"
)

// globalOptions are the flags every command shares.
type globalOptions struct {
	kube     *kubeConfigFlags
	stateDir string
}

// extraCommands are added by files built only with a tag: the man-page
// generator (gendocs.go) is not in a released binary.
var extraCommands []func(root *cobra.Command) *cobra.Command

func newRootCmd(s streams, name string) *cobra.Command {
	g := &globalOptions{kube: kubeFlags()}
	root := &cobra.Command{
		Use:   "cutover",
		Short: "A release console for the terminal",
		Long: `cutover runs a release pipeline, shows it live, and lets an on-call engineer
approve, promote or roll back a release in one keypress.

Every run is written to an audit journal under --state-dir.`,
		Example: `  # Check a pipeline file, then run it
  cutover validate pipeline.yaml
  cutover run pipeline.yaml --set IMAGE_TAG=v1.4.2

  # Per-stage times of past runs
  cutover history`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: name},
	}
	// --version prints what `cutover version` does.
	root.Version = currentBuild().String()
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return badInput(err) })
	g.kube.AddFlags(root.PersistentFlags())
	root.PersistentFlags().StringVar(&g.stateDir, "state-dir", "", "where the audit journal lives (default $XDG_STATE_HOME/cutover)")

	root.AddCommand(
		newRunCmd(s, g),
		newValidateCmd(s),
		newHistoryCmd(s, g),
		newSchemaCmd(s),
		newVersionCmd(s),
		newStatusCmd(s, g),
		newRollbackCmd(s, g),
		newPromoteCmd(s, g),
		newAbortCmd(s, g),
		newMaintenanceCmd(s, g),
		newScaleDownCmd(s, g),
		newPanelsCmd(s),
		newDemoCmd(s, g),
		newServeCmd(s, g),
		newApproveCmd(s, g),
		newRejectCmd(s, g),
		newHostKeyCmd(s),
	)
	for _, extra := range extraCommands {
		root.AddCommand(extra(root))
	}
	if name != "cutover" {
		// Examples show the command as the user invokes it.
		renameExamples(root, name)
	}
	return root
}

func renameExamples(c *cobra.Command, name string) {
	c.Example = strings.ReplaceAll(c.Example, "  cutover ", "  "+name+" ")
	for _, sub := range c.Commands() {
		renameExamples(sub, name)
	}
}

// kubeFlags are kubectl's own --kubeconfig, --context and -n/--namespace,
// so that cutover reads clusters the way kubectl does.
func kubeFlags() *kubeConfigFlags {
	str := func() *string { s := ""; return &s }
	return &kubeConfigFlags{KubeConfig: str(), Context: str(), Namespace: str()}
}

// kubeConfigFlags are the three flags of cli-runtime's ConfigFlags that
// cutover has, bound the way ConfigFlags binds them. Not ConfigFlags
// itself: its package brings in kustomize, and kustomize imports package
// plugin, with which a cgo build (the default wherever a C compiler is
// found, so for go install and go run) keeps every exported method and
// writes every symbol into the dynamic symbol table: 29 MB of a 111 MB
// binary. Without cgo it cost 2 MB.
type kubeConfigFlags struct {
	KubeConfig, Context, Namespace *string
}

// AddFlags adds the flags with ConfigFlags's names and help.
func (f *kubeConfigFlags) AddFlags(flags *pflag.FlagSet) {
	flags.StringVar(f.KubeConfig, "kubeconfig", *f.KubeConfig, "Path to the kubeconfig file to use for CLI requests.")
	flags.StringVarP(f.Namespace, "namespace", "n", *f.Namespace, "If present, the namespace scope for this CLI request")
	flags.StringVar(f.Context, "context", *f.Context, "The name of the kubeconfig context to use")
}

// ToRawKubeConfigLoader loads kubeconfig as kubectl does: --kubeconfig,
// else $KUBECONFIG, else ~/.kube/config, with --context and -n over it.
func (f *kubeConfigFlags) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.DefaultClientConfig = &clientcmd.DefaultClientConfig
	rules.ExplicitPath = *f.KubeConfig
	overrides := &clientcmd.ConfigOverrides{ClusterDefaults: clientcmd.ClusterDefaults, CurrentContext: *f.Context}
	overrides.Context.Namespace = *f.Namespace
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
}

// contexts opens clusters through the kubeconfig flags.
func (g *globalOptions) contexts() *kube.Contexts {
	kube.QuietLogs()
	return &kube.Contexts{Kubeconfig: *g.kube.KubeConfig, Current: *g.kube.Context}
}

func (g *globalOptions) journalDir() (string, error) {
	if g.stateDir != "" {
		return g.stateDir, nil
	}
	return engine.DefaultStateDir()
}

// osActor is the person running cutover, as the OS knows them.
func osActor(lookupEnv func(string) (string, bool)) engine.Actor {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return engine.Actor{Name: u.Username}
	}
	if v, ok := lookupEnv("USER"); ok && v != "" {
		return engine.Actor{Name: v}
	}
	return engine.Actor{Name: fmt.Sprintf("uid:%d", os.Getuid())}
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// parseSet turns repeated --set KEY=VALUE flags into a map.
func parseSet(pairs []string) (map[string]string, error) {
	vars := map[string]string{}
	var errs []error
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("--set %q: want KEY=VALUE", p))
		case !spec.ValidName(k):
			errs = append(errs, fmt.Errorf("--set %q: %q is not a variable name", p, k))
		default:
			vars[k] = v
		}
	}
	return vars, errors.Join(errs...)
}

// completeYAML offers pipeline files for completion.
func completeYAML(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
}
