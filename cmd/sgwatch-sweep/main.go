// Command sgwatch-sweep is sgwatch's sweep worker: the function of
// package function, plus the history table. A deployment that names one
// (the template's HistorySource) runs the sweep here, scheduled and fanned
// out alike; with HISTORY_SOURCE set, a creator that LookupEvents (90 days)
// does not find is looked for there, with one Athena query a target
// (package history). It is a build of its own so that the function that
// handles events, whose cold start a change waits for, does not link the
// Athena client.
package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/athena"

	"github.com/sgwatch/sgwatch/athena"
	"github.com/sgwatch/sgwatch/function"
	"github.com/sgwatch/sgwatch/handler"
	"github.com/sgwatch/sgwatch/history"
	"github.com/sgwatch/sgwatch/sweep"
)

func main() {
	function.Start(func(cfg handler.Config, awsCfg aws.Config, d *handler.Deps) error {
		if cfg.Sweep.History == "" || d.Sweep == nil {
			return nil
		}
		wg, q, err := athena.ParseSource(cfg.Sweep.History)
		if err == nil {
			_, err = q.Layout()
		}
		if err != nil {
			return fmt.Errorf("HISTORY_SOURCE: %w", err)
		}
		api := sync.OnceValue(func() history.API { return sdk.NewFromConfig(awsCfg) })
		d.Sweep.History = func(ctx context.Context, t sweep.Target, groups []string) ([][]byte, error) {
			return history.Run{API: api(), Workgroup: wg, Query: q}.Groups(ctx, t.Account, t.Region, groups)
		}
		return nil
	})
}
