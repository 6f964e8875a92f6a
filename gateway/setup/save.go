package setup

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/brightkitchen/brightkitchen/gateway/config"
	"github.com/brightkitchen/brightkitchen/internal/atomicfile"
)

// CameraEdit is what the page sets of one camera. The rest of the camera's
// entry in the file (transport, a detect section it did not change) stays.
type CameraEdit struct {
	// ID is the camera's id (wire.ValidID rules), unique on the gateway.
	ID string `json:"id"`
	// Name is a human label.
	Name string `json:"name"`
	// URL is the main stream, rtsp:// or rtsps://; "" keeps the URL the
	// camera has (the page never sees stored passwords).
	URL string `json:"url"`
	// LiveURL is the stream for live view; "" is the main stream, and
	// null (nil) keeps what the camera has.
	LiveURL *string `json:"live_url"`
	// Username and Password, when Username is set, go into URL and LiveURL.
	Username string `json:"username"`
	Password string `json:"password"`
	// Area is the kitchen area the camera watches.
	Area string `json:"area"`
	// Public lets parents watch it.
	Public bool `json:"public"`
	// Detectors are the plugins to run on it, by name (Config.Plugins).
	Detectors []string `json:"detectors"`
}

// tamperRules are the rules a camera gets with the tamper detector: the
// four picture checks, at all hours. Other plugins are switched on
// without rules: their rules (zones, hours) are set in the file.
var tamperRules = []string{"camera_occluded", "camera_dark", "camera_blurred", "camera_frozen"}

// editDoc applies fn to the cameras sequence of a YAML config document
// (made when missing) and returns the document. Comments outside the edited
// entries are kept.
func editDoc(doc []byte, fn func(seq *yaml.Node) error) ([]byte, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if root.Kind == 0 {
		root = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("config: the file is not a YAML mapping")
	}
	top := root.Content[0]
	seq := mapValue(top, "cameras")
	if seq == nil || seq.Kind != yaml.SequenceNode {
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		setKey(top, "cameras", n)
		seq = n
	}
	seq.Style = 0 // block style, whatever it was
	if err := fn(seq); err != nil {
		return nil, err
	}
	return yaml.Marshal(&root)
}

// mapValue is the value of key in mapping m, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// setKey sets key in mapping m to v, appending it when absent.
func setKey(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
}

// deleteKey removes key from mapping m.
func deleteKey(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = slices.Delete(m.Content, i, i+2)
			return
		}
	}
}

func str(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: yaml.DoubleQuotedStyle}
}

// findCamera is the index of the camera with id in seq, or -1.
func findCamera(seq *yaml.Node, id string) int {
	for i, c := range seq.Content {
		if c.Kind == yaml.MappingNode {
			if v := mapValue(c, "id"); v != nil && v.Value == id {
				return i
			}
		}
	}
	return -1
}

// upsert writes e into its camera's entry, made when missing.
func upsert(seq *yaml.Node, e CameraEdit, cur config.Camera, exists bool) error {
	i := findCamera(seq, e.ID)
	var m *yaml.Node
	if i < 0 {
		m = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		setKey(m, "id", str(e.ID))
		seq.Content = append(seq.Content, m)
	} else {
		m = seq.Content[i]
	}
	url := cur.URL
	if e.URL != "" || !exists {
		var err error
		if url, err = withCredentials(e.URL, e.Username, e.Password); err != nil {
			return fmt.Errorf("url: %w", err)
		}
	}
	setKey(m, "url", str(url))
	switch {
	case e.LiveURL == nil && exists && cur.LiveURL != "":
		setKey(m, "live_url", str(cur.LiveURL))
	case e.LiveURL == nil || *e.LiveURL == "":
		deleteKey(m, "live_url")
	default:
		live, err := withCredentials(*e.LiveURL, e.Username, e.Password)
		if err != nil {
			return fmt.Errorf("live_url: %w", err)
		}
		setKey(m, "live_url", str(live))
	}
	setKey(m, "name", str(e.Name))
	setKey(m, "area", str(e.Area))
	setKey(m, "public", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(e.Public)})

	want := slices.Clone(e.Detectors)
	slices.Sort(want)
	want = slices.Compact(want)
	have := detectPlugins(cur)
	switch {
	case len(want) == 0:
		deleteKey(m, "detect")
	case exists && slices.Equal(want, have):
		// unchanged: the section stays as written, rules and all
	default:
		setKey(m, "detect", detectNode(want))
	}
	return nil
}

// detectPlugins are the plugin names of a camera's detect section, sorted.
func detectPlugins(c config.Camera) []string {
	if !c.Detect.IsSet() {
		return nil
	}
	var out []string
	for _, p := range c.Detect.Rules().Plugins {
		out = append(out, p.Name)
	}
	slices.Sort(out)
	return out
}

// detectNode is a detect section running plugins, with the tamper rules
// when tamper is one of them. Built as nodes, so no name can change the
// document's structure.
func detectNode(plugins []string) *yaml.Node {
	mapping := func(kv ...*yaml.Node) *yaml.Node {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: kv}
	}
	key := func(k string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k} }
	ps := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, p := range plugins {
		ps.Content = append(ps.Content, mapping(key("name"), str(p)))
	}
	d := mapping(key("plugins"), ps)
	if slices.Contains(plugins, "tamper") {
		rs := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, r := range tamperRules {
			rs.Content = append(rs.Content, mapping(key("type"), key(r), key("plugin"), key("tamper"), key("when"), key("always")))
		}
		d.Content = append(d.Content, key("rules"), rs)
	}
	return d
}

// removeCamera deletes the camera with id from seq.
func removeCamera(seq *yaml.Node, id string) error {
	i := findCamera(seq, id)
	if i < 0 {
		return fmt.Errorf("camera %q is not in the config", id)
	}
	seq.Content = slices.Delete(seq.Content, i, i+1)
	return nil
}

// saveFile writes doc over path after loading it with config.Load, the
// loader `bk-gateway check` runs, from a temporary file in the same
// directory (relative paths resolve the same). A document that does not
// load is not written, and its error names the key. The replacement is
// atomic: the temporary file is synced and renamed over path.
func saveFile(path string, doc []byte) (config.Config, error) {
	mode := os.FileMode(0o640)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	var cfg config.Config
	var loadErr error
	err := atomicfile.Write(path, doc, mode, func(tmp string) error {
		cfg, loadErr = config.Load(tmp)
		if loadErr != nil {
			loadErr = errors.New(strings.ReplaceAll(loadErr.Error(), tmp+": ", ""))
		}
		return loadErr
	})
	switch {
	case loadErr != nil:
		return config.Config{}, loadErr
	case err != nil:
		return config.Config{}, fmt.Errorf("write config: %w", err)
	}
	return cfg, nil
}
