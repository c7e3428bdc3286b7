package signals_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/socialauth-go/socialauth/signals"
)

// LoginEvent is a payload type; each Signal carries exactly one.
type LoginEvent struct{ UserID int64 }

func Example() {
	authComplete := signals.New[LoginEvent]("auth_complete", nil)

	authComplete.Connect(func(_ context.Context, sender string, ev LoginEvent) error {
		fmt.Printf("cache permissions of user %d (from %s)\n", ev.UserID, sender)
		return nil
	})
	failing := authComplete.Connect(func(context.Context, string, LoginEvent) error {
		return errors.New("metrics backend down")
	})
	authComplete.Connect(func(context.Context, string, LoginEvent) error {
		panic("bug in a receiver")
	})

	for _, r := range authComplete.Send(context.Background(), "edx-oauth2", LoginEvent{UserID: 42}) {
		var pe *signals.PanicError
		switch {
		case errors.As(r.Err, &pe):
			fmt.Printf("receiver %d panicked: %v\n", r.ID, pe.Value)
		case r.Err != nil:
			fmt.Printf("receiver %d failed: %v\n", r.ID, r.Err)
		}
	}
	authComplete.Disconnect(failing)
	fmt.Println("receivers left:", authComplete.Len())
	// Output:
	// cache permissions of user 42 (from edx-oauth2)
	// receiver 2 failed: metrics backend down
	// receiver 3 panicked: bug in a receiver
	// receivers left: 2
}
