package bindings

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// IsTypeScript reports whether a strategy file is TypeScript, by its name.
func IsTypeScript(file string) bool {
	switch strings.ToLower(filepath.Ext(file)) {
	case ".ts", ".mts", ".cts":
		return true
	}
	return false
}

// tsBanner is the first line of compiled TypeScript. The module wrapper
// (see compile) shares the first line, so no code of the strategy may sit
// there: the source map then stays exact. Its await makes compile choose
// the async wrapper: esbuild prints a top-level `await run(...)` as
// `await (0, import_jsrt.run)(...)`, which would also parse, wrongly, as a
// call of a function named await in a plain function.
const tsBanner = "await 0; // compiled from TypeScript by jsrt-script"

// transpile compiles a TypeScript strategy (and the relative modules it
// imports) into JavaScript that goja runs inside the module wrapper, with
// an inline source map, so stack positions point at the .ts files.
//
// The strategy is bundled as an ES module whose only import, "jsrt", is
// the native module: that keeps top-level await (which esbuild's CommonJS
// output refuses) and import/export syntax (which goja does not parse)
// out of the output. Type errors are not checked (tsc does that); syntax
// errors come back as *SyntaxError with the .ts line and column.
func transpile(file, abs string) (string, error) {
	dir := filepath.Dir(abs)
	jsrt := api.Plugin{Name: "jsrt", Setup: func(b api.PluginBuild) {
		// "jsrt" and the shipped policies ("jsrt/policies/NAME") are native.
		b.OnResolve(api.OnResolveOptions{Filter: `^jsrt(/policies/[a-z]+)?$`}, func(a api.OnResolveArgs) (api.OnResolveResult, error) {
			return api.OnResolveResult{Path: a.Path, Namespace: "jsrt"}, nil
		})
		b.OnLoad(api.OnLoadOptions{Filter: `.*`, Namespace: "jsrt"}, func(a api.OnLoadArgs) (api.OnLoadResult, error) {
			src := "module.exports = globalThis.require(" + strconv.Quote(a.Path) + ");"
			return api.OnLoadResult{Contents: &src, Loader: api.LoaderJS}, nil
		})
	}}
	res := api.Build(api.BuildOptions{
		Stdin: &api.StdinOptions{
			Contents:   "import " + strconv.Quote("./"+filepath.Base(abs)) + ";",
			ResolveDir: dir,
			Sourcefile: "<jsrt-entry>",
		},
		AbsWorkingDir:     dir,
		Bundle:            true,
		Format:            api.FormatESModule,
		Platform:          api.PlatformNeutral,
		Target:            api.ES2022,
		Supported:         map[string]bool{"top-level-await": true, "async-generator": false, "for-await": false},
		TreeShaking:       api.TreeShakingFalse,
		IgnoreAnnotations: true, // a package.json "sideEffects": false must not drop the strategy
		Sourcemap:         api.SourceMapInline,
		SourcesContent:    api.SourcesContentExclude,
		Banner:            map[string]string{"js": tsBanner},
		Outfile:           filepath.Join(dir, "jsrt-compiled.js"),
		Write:             false,
		LogLevel:          api.LogLevelSilent,
		Plugins:           []api.Plugin{jsrt},
	})
	if len(res.Errors) > 0 {
		return "", tsError(file, dir, res.Errors[0])
	}
	if len(res.OutputFiles) == 0 {
		return "", &SyntaxError{File: file, Msg: "TypeScript compiler produced no output"}
	}
	return shiftSourceMap(string(res.OutputFiles[0].Contents))
}

const sourceMapPrefix = "//# sourceMappingURL=data:application/json;base64,"

// shiftSourceMap moves every generated column of the inline source map one
// to the right. goja looks positions up with 1-based columns where source
// maps count from 0; shifted, the lookup lands on the right segment (and
// fixTS corrects the 0-based answer). A map without any mapping (a
// strategy of declarations only) is dropped: goja rejects empty maps.
func shiftSourceMap(code string) (string, error) {
	i := strings.LastIndex(code, sourceMapPrefix)
	if i < 0 {
		return code, nil
	}
	end := i + len(sourceMapPrefix)
	for end < len(code) && code[end] != '\n' {
		end++
	}
	raw, err := base64.StdEncoding.DecodeString(code[i+len(sourceMapPrefix) : end])
	if err != nil {
		return "", fmt.Errorf("reading the TypeScript source map: %w", err)
	}
	var sm map[string]any
	if err := json.Unmarshal(raw, &sm); err != nil {
		return "", fmt.Errorf("reading the TypeScript source map: %w", err)
	}
	mappings, _ := sm["mappings"].(string)
	if strings.Trim(mappings, ";") == "" {
		return code[:i] + code[end:], nil
	}
	lines := strings.Split(mappings, ";")
	for n, l := range lines {
		if l == "" {
			continue
		}
		v, rest, ok := decodeVLQ(l)
		if !ok {
			return "", fmt.Errorf("reading the TypeScript source map: bad mapping %q", l)
		}
		lines[n] = encodeVLQ(v+1) + rest
	}
	sm["mappings"] = strings.Join(lines, ";")
	out, err := json.Marshal(sm)
	if err != nil {
		return "", err
	}
	return code[:i] + sourceMapPrefix + base64.StdEncoding.EncodeToString(out) + code[end:], nil
}

const vlqChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// decodeVLQ reads one base64 VLQ number from the front of s.
func decodeVLQ(s string) (int, string, bool) {
	v, shift := 0, 0
	for i := 0; i < len(s); i++ {
		d := strings.IndexByte(vlqChars, s[i])
		if d < 0 {
			return 0, "", false
		}
		v |= (d & 31) << shift
		shift += 5
		if d&32 == 0 {
			if v&1 == 1 {
				return -(v >> 1), s[i+1:], true
			}
			return v >> 1, s[i+1:], true
		}
	}
	return 0, "", false
}

func encodeVLQ(v int) string {
	u := v << 1
	if v < 0 {
		u = (-v << 1) | 1
	}
	var b strings.Builder
	for {
		d := u & 31
		u >>= 5
		if u > 0 {
			d |= 32
		}
		b.WriteByte(vlqChars[d])
		if u == 0 {
			return b.String()
		}
	}
}

// tsError turns an esbuild message into a *SyntaxError naming the file as
// the user did (esbuild names files relative to the strategy's directory).
func tsError(file, dir string, m api.Message) error {
	if m.Location == nil {
		return &SyntaxError{File: file, Msg: m.Text}
	}
	name := filepath.Join(filepath.Dir(file), filepath.FromSlash(m.Location.File))
	if filepath.Base(m.Location.File) == filepath.Base(file) && filepath.Dir(m.Location.File) == "." {
		name = file
	}
	if m.Location.File == "<jsrt-entry>" {
		name = file
	}
	return &SyntaxError{File: name, Line: m.Location.Line, Column: m.Location.Column + 1, Msg: tsMessage(m.Text)}
}

// tsMessage makes esbuild's texts read like the rest of jsrt-script's.
func tsMessage(s string) string {
	if strings.HasPrefix(s, "Could not resolve ") {
		return fmt.Sprintf("cannot find module %s", strings.TrimPrefix(s, "Could not resolve "))
	}
	return s
}

// fixTS corrects a position goja took from a source map: the source map
// library answers with 0-based columns, which goja passes on as they are.
func fixTS(f Frame) Frame {
	f.Column++
	return f
}
