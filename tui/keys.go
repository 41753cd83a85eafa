package tui

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	"go.yaml.in/yaml/v3"
)

// KeyMap is every key the console answers to. Actions can be rebound in
// the config file; moving around cannot, so that help for it stays true.
type KeyMap struct {
	Approve     key.Binding
	Promote     key.Binding
	Rollback    key.Binding
	Abort       key.Binding
	Skip        key.Binding
	Maintenance key.Binding

	Next, Prev key.Binding
	Up, Down   key.Binding
	Enter      key.Binding
	Logs       key.Binding
	Search     key.Binding
	Help       key.Binding
	Quit       key.Binding
	// Card shows the waiting gate's card again; Hide hides it, to look
	// at the panes.
	Card, Hide key.Binding
	// Diff shows the whole of what approving a release's gate changes.
	Diff key.Binding

	// Confirm answers a modal yes; any other key is no.
	Confirm key.Binding
}

// DefaultKeyMap returns the keys as documented.
func DefaultKeyMap() KeyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return KeyMap{
		Approve:     b("a", "approve", "a"),
		Promote:     b("p", "promote", "p"),
		Rollback:    b("r", "rollback", "r"),
		Abort:       b("x", "abort", "x"),
		Skip:        b("s", "skip stage", "s"),
		Maintenance: b("m", "maintenance", "m"),
		Next:        b("tab", "next pane", "tab"),
		Prev:        b("shift+tab", "previous pane", "shift+tab"),
		Up:          b("↑/k", "up", "up", "k"),
		Down:        b("↓/j", "down", "down", "j"),
		Enter:       b("enter", "details", "enter"),
		Logs:        b("l", "full-screen logs", "l"),
		Search:      b("/", "search logs", "/"),
		Help:        b("?", "help", "?"),
		Quit:        b("q", "quit", "q", "ctrl+c"),
		Card:        b("g", "gate card", "g"),
		Hide:        b("esc", "hide the card", "esc"),
		Diff:        b("d", "diff", "d"),
		Confirm:     b("y", "confirm", "y"),
	}
}

// actions are the bindings a config file may change, by name.
func (k *KeyMap) actions() map[string]*key.Binding {
	return map[string]*key.Binding{
		"approve": &k.Approve, "promote": &k.Promote, "rollback": &k.Rollback, "abort": &k.Abort,
		"skip": &k.Skip, "maintenance": &k.Maintenance, "logs": &k.Logs, "search": &k.Search,
		"help": &k.Help, "quit": &k.Quit, "card": &k.Card, "diff": &k.Diff,
	}
}

// fixed are the bindings that cannot be changed, which a rebinding must
// not collide with either.
func (k *KeyMap) fixed() map[string]*key.Binding {
	return map[string]*key.Binding{
		"next pane": &k.Next, "previous pane": &k.Prev, "up": &k.Up, "down": &k.Down, "details": &k.Enter,
		"confirm": &k.Confirm, "hide": &k.Hide,
	}
}

// SetReadOnly disables every key that changes something.
func (k *KeyMap) SetReadOnly() {
	for _, b := range []*key.Binding{&k.Approve, &k.Promote, &k.Rollback, &k.Abort, &k.Skip, &k.Maintenance} {
		b.SetEnabled(false)
	}
}

// actionBindings are copies of the keys that change something.
func (k KeyMap) actionBindings() []key.Binding {
	return []key.Binding{k.Approve, k.Promote, k.Rollback, k.Abort, k.Skip, k.Maintenance}
}

// ShortHelp is the footer.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Approve, k.Promote, k.Rollback, k.Abort, k.Next, k.Logs, k.Help, k.Quit}
}

// FullHelp is what ? shows.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Approve, k.Promote, k.Rollback, k.Abort, k.Skip, k.Maintenance},
		{k.Next, k.Prev, k.Up, k.Down, k.Enter},
		{k.Logs, k.Search, k.Card, k.Hide, k.Diff, k.Help, k.Quit},
	}
}

// Config is the console's config file.
type Config struct {
	// Keys rebinds actions: approve, promote, rollback, abort, skip,
	// maintenance, logs, search, card, help, quit.
	Keys map[string][]string `yaml:"keys"`
}

// ConfigPath is where the config file lives: $XDG_CONFIG_HOME/cutover,
// else ~/.config/cutover.
func ConfigPath(getenv func(string) string) string {
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home := getenv("HOME")
		if home == "" {
			return ""
		}
		dir = home + "/.config"
	}
	return dir + "/cutover/config.yaml"
}

// LoadKeyMap returns the default keys with the config file's rebindings.
// A missing file is no error; a bad one, or a key bound twice, is, with
// the file and what collides.
func LoadKeyMap(path string) (KeyMap, error) {
	km := DefaultKeyMap()
	if path == "" {
		return km, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return km, nil
	} else if err != nil {
		return km, err
	}
	var cfg Config
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return km, fmt.Errorf("%s: %w", path, err)
	}
	if err := km.Rebind(cfg.Keys); err != nil {
		return km, fmt.Errorf("%s: %w", path, err)
	}
	return km, nil
}

// Rebind applies rebindings by action name and checks that no key is then
// bound to two things.
func (k *KeyMap) Rebind(keys map[string][]string) error {
	actions := k.actions()
	for _, name := range sortedKeys(keys) {
		b, ok := actions[name]
		if !ok {
			return fmt.Errorf("keys.%s: no such action; rebindable are %s", name, strings.Join(sortedKeys(actions), ", "))
		}
		if len(keys[name]) == 0 {
			return fmt.Errorf("keys.%s: give at least one key", name)
		}
		ks := keys[name]
		if name == "quit" && !slices.Contains(ks, "ctrl+c") {
			// ctrl+c always quits: it is the terminal's own way out, and
			// cutover turns off the signal it would otherwise send.
			ks = append(slices.Clone(ks), "ctrl+c")
		}
		b.SetKeys(ks...)
		b.SetHelp(strings.Join(keys[name], "/"), b.Help().Desc)
	}
	owner := map[string]string{}
	all := k.actions()
	for n, b := range k.fixed() {
		all[n] = b
	}
	for _, name := range sortedKeys(all) {
		for _, ks := range all[name].Keys() {
			if other, dup := owner[ks]; dup {
				return fmt.Errorf("key %q is bound to both %s and %s", ks, other, name)
			}
			owner[ks] = name
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
