// Command mobydick prints the text examples/charlm trains on (fetching it
// into the cache first if needed), for machines without network access:
// scripts/gpu-check.sh carries it to the GPU machine.
package main

import (
	"fmt"
	"log"

	"github.com/tessera-ml/tessera/data"
)

func main() {
	text, err := data.LoadMobyDick()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(text)
}
