package gohlslib

type clientTimeConv interface{}
