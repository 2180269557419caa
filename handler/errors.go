package handler

import "errors"

// The errors Handle returns. Lambda reports an error's type name as its
// errorType, so failed invocations can be told apart in logs and in the
// failure queue: DecodeError (the event is malformed; retrying will not
// help), PublishError (SNS did not take the notification), ImportError
// (Security Hub did not take a finding whose notification was published;
// the retry imports it and publishes nothing again), SweepError (a sweep
// did not cover every target or publish every finding; the retry
// publishes nothing twice), RevertError (the opt-in revert could not
// revoke, prove or schedule; its revert-failed notification is
// published), InternalError (a bug).
type (
	DecodeError   struct{ Err error }
	PublishError  struct{ Err error }
	ImportError   struct{ Err error }
	SweepError    struct{ Err error }
	RevertError   struct{ Err error }
	InternalError struct{ Err error }
)

func (e *DecodeError) Error() string  { return "decode event: " + e.Err.Error() }
func (e *DecodeError) Unwrap() error  { return e.Err }
func (e *PublishError) Error() string { return e.Err.Error() }
func (e *PublishError) Unwrap() error { return e.Err }
func (e *ImportError) Error() string  { return e.Err.Error() }
func (e *ImportError) Unwrap() error  { return e.Err }
func (e *SweepError) Error() string   { return e.Err.Error() }
func (e *SweepError) Unwrap() error   { return e.Err }
func (e *RevertError) Error() string  { return e.Err.Error() }
func (e *RevertError) Unwrap() error  { return e.Err }
func (e *InternalError) Error() string {
	return "internal error while handling event: " + e.Err.Error()
}
func (e *InternalError) Unwrap() error { return e.Err }

// failed is the error of an invocation whose deliveries failed with errs:
// a RevertError when a revert failed, an ImportError when only Security
// Hub failed, else a PublishError.
func failed(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	for _, err := range errs {
		var re *RevertError
		if errors.As(err, &re) {
			return &RevertError{errors.Join(errs...)}
		}
	}
	for _, err := range errs {
		var ie *ImportError
		if !errors.As(err, &ie) {
			return &PublishError{errors.Join(errs...)}
		}
	}
	return &ImportError{errors.Join(errs...)}
}
