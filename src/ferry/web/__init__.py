"""Pages Ferry serves to people: server-rendered HTML, a little CSS, a little script."""
