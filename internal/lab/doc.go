// Package lab builds real hosts for sshdoctor's tests.
package lab
