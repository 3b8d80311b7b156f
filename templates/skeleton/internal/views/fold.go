package views

import (
	"html/template"
	"regexp"
	"text/template/parse"
)

// inert matches a value no HTML context escapes or reads specially: it may
// stand in the template as text and mean what the escaped value meant.
var inert = regexp.MustCompile(`^[A-Za-z0-9/._~+=-]+$`)

// foldConstants replaces each {{name "literal"}} action in t whose function
// is one of funcs by the function's value, before the templates are first
// executed (and so escaped). Asset URLs and integrity hashes are fixed for
// the life of the process, and the layout quotes seventeen of them: each
// would otherwise cost a reflective call and its escapers on every page. A
// value that is not inert, or a function that fails, stays an action, so
// the escaper still sees it and the error still shows where it did.
func foldConstants(t *template.Template, funcs map[string]func(string) (string, error)) {
	for _, tt := range t.Templates() {
		if tt.Tree != nil && tt.Tree.Root != nil {
			foldList(tt.Tree.Root, funcs)
		}
	}
}

func foldList(l *parse.ListNode, funcs map[string]func(string) (string, error)) {
	if l == nil {
		return
	}
	for i, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.ActionNode:
			if v, ok := constant(n, funcs); ok {
				l.Nodes[i] = &parse.TextNode{NodeType: parse.NodeText, Pos: n.Pos, Text: []byte(v)}
			}
		case *parse.IfNode:
			foldList(n.List, funcs)
			foldList(n.ElseList, funcs)
		case *parse.RangeNode:
			foldList(n.List, funcs)
			foldList(n.ElseList, funcs)
		case *parse.WithNode:
			foldList(n.List, funcs)
			foldList(n.ElseList, funcs)
		}
	}
}

// constant is the value of an action that calls one of funcs with one
// string literal and nothing else.
func constant(n *parse.ActionNode, funcs map[string]func(string) (string, error)) (string, bool) {
	if len(n.Pipe.Decl) > 0 || len(n.Pipe.Cmds) != 1 || len(n.Pipe.Cmds[0].Args) != 2 {
		return "", false
	}
	fn, isIdent := n.Pipe.Cmds[0].Args[0].(*parse.IdentifierNode)
	arg, isString := n.Pipe.Cmds[0].Args[1].(*parse.StringNode)
	if !isIdent || !isString || funcs[fn.Ident] == nil {
		return "", false
	}
	v, err := funcs[fn.Ident](arg.Text)
	if err != nil || !inert.MatchString(v) {
		return "", false
	}
	return v, true
}
