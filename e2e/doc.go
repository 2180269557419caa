// Package e2e holds sgwatch's end-to-end tests, built only with the e2e tag:
// the real bootstrap under the Lambda Runtime Interface Emulator publishing to
// moto's SNS, the template's EventBridge pattern on moto's EventBridge, and
// the template through sam validate, sam build and checkov. "make e2e" (part
// of "make test") installs every component and runs them.
package e2e
