// Start the NHS.UK frontend's components (the header's menu, error summary focus...).
// Every page works without it.
import { initAll } from '/assets/nhsuk-frontend.min.js'

initAll()
