"""Pages: Jinja2 rendering of the organiser's pages, the preview site, the event site, and every template."""
