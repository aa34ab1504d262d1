// Progressive enhancement only: every page works without this script.
// Narrow the township and village lists to the chosen county and township.
(function () {
  function filterSelect(select, prefixOf) {
    if (!select) return;
    var all = Array.prototype.slice.call(select.options).map(function (o) { return o.cloneNode(true); });
    return function (keep) {
      var current = select.value;
      select.innerHTML = "";
      all.forEach(function (o) { if (!o.value || keep(o)) select.appendChild(o.cloneNode(true)); });
      select.value = current;
      if (select.value !== current) select.value = "";
    };
  }
  var county = document.getElementById("county_id");
  var township = document.getElementById("township_id");
  var village = document.getElementById("village_id");
  if (!county || !township) return;
  var narrowTownships = filterSelect(township);
  var narrowVillages = filterSelect(village);
  function update() {
    var countyName = county.options[county.selectedIndex] ? county.options[county.selectedIndex].text : "";
    narrowTownships(function (o) { return !county.value || o.text.indexOf(countyName + " · ") === 0; });
    if (narrowVillages) {
      var t = township.options[township.selectedIndex];
      var tName = t && t.value ? t.text.split(" · ")[1] : "";
      narrowVillages(function (o) { return !!tName && o.text.indexOf(tName + " · ") === 0; });
    }
  }
  county.addEventListener("change", update);
  township.addEventListener("change", update);
  update();
})();

// Suggestions as you type: fill the search box's datalist from /search/suggest.
(function () {
  var input = document.querySelector("input[data-suggest]");
  var list = document.getElementById("search-suggestions");
  if (!input || !list || !window.fetch) return;
  var timer = null, last = "";
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var q = input.value.trim();
      if (!q || q === last) return;
      last = q;
      fetch(input.dataset.suggest + "?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
        .then(function (data) {
          if (data.q !== input.value.trim()) return;
          list.innerHTML = "";
          data.suggestions.forEach(function (s) {
            var o = document.createElement("option");
            o.value = s;
            list.appendChild(o);
          });
        })
        .catch(function () {});
    }, 150);
  });
})();
