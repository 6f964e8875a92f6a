package pb
