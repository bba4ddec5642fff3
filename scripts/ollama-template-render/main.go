// Renders Ollama chat templates the way the Ollama server does for /api/chat, for
// scripts/gen_ollama_template_goldens.py. Standard library only.
//
// Input (stdin, JSON): {"templates": {"name": "go template text", ...},
//                       "cases": [{"template": "name", "model_system": "...",
//                                  "messages": [{"role": "...", "content": "..."}],
//                                  "think": null|true|false}, ...]}
// Output (stdout, JSON): [{"output": "..."} | {"error": "..."}, ...], one per case.
//
// What is reproduced from ollama (server/routes.go ChatHandler, template/template.go):
//   - the model's SYSTEM is prepended as a system message when the first message is not one;
//   - template.Parse: text/template with Option("missingkey=zero") and ollama's funcs;
//   - Execute: messages collated (consecutive same-role messages joined with "\n\n", all system
//     contents joined into .System), then the template is run with System, Messages, Tools,
//     Response "", Think, ThinkLevel, IsThinkSet.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/template"
	"time"
)

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type testCase struct {
	Template    string    `json:"template"`
	ModelSystem string    `json:"model_system"`
	Messages    []message `json:"messages"`
	Think       *bool     `json:"think"`
}

type input struct {
	Templates map[string]string `json:"templates"`
	Cases     []testCase        `json:"cases"`
}

var funcs = template.FuncMap{
	"json": func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	},
	"currentDate": func(args ...string) string {
		return time.Now().Format("2006-01-02")
	},
	"yesterdayDate": func(args ...string) string {
		return time.Now().AddDate(0, 0, -1).Format("2006-01-02")
	},
	"toTypeScriptType": func(v any) string { return "any" },
}

func collate(msgs []message) (string, []*message) {
	var system []string
	var collated []*message
	for i := range msgs {
		if msgs[i].Role == "system" {
			system = append(system, msgs[i].Content)
		}
		if len(collated) > 0 && collated[len(collated)-1].Role == msgs[i].Role && msgs[i].Role != "tool" {
			collated[len(collated)-1].Content += "\n\n" + msgs[i].Content
		} else {
			collated = append(collated, &msgs[i])
		}
	}
	return strings.Join(system, "\n\n"), collated
}

func render(text string, c testCase) (string, error) {
	tmpl, err := template.New("").Option("missingkey=zero").Funcs(funcs).Parse(text)
	if err != nil {
		return "", err
	}
	msgs := append([]message(nil), c.Messages...)
	if c.ModelSystem != "" && (len(msgs) == 0 || msgs[0].Role != "system") {
		msgs = append([]message{{Role: "system", Content: c.ModelSystem}}, msgs...)
	}
	system, collated := collate(msgs)
	think := c.Think != nil && *c.Think
	var b bytes.Buffer
	err = tmpl.Execute(&b, map[string]any{
		"System":     system,
		"Messages":   collated,
		"Tools":      nil,
		"Response":   "",
		"Think":      think,
		"ThinkLevel": "",
		"IsThinkSet": c.Think != nil,
	})
	return b.String(), err
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "bad input:", err)
		os.Exit(2)
	}
	out := make([]map[string]string, 0, len(in.Cases))
	for _, c := range in.Cases {
		text, ok := in.Templates[c.Template]
		if !ok {
			fmt.Fprintln(os.Stderr, "unknown template", c.Template)
			os.Exit(2)
		}
		s, err := render(text, c)
		if err != nil {
			out = append(out, map[string]string{"error": err.Error()})
		} else {
			out = append(out, map[string]string{"output": s})
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
