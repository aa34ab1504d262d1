// Runs before the report is laid out: charts get their room at once (no jump when drawn).
document.documentElement.classList.add("charts-on");
