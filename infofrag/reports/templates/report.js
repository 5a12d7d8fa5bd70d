// Sorting and filtering of the report's tables, and the hotspot-card selectors.
// Hand-written, no library: the page must work from a single offline file.
(function () {
  "use strict";

  function cellKey(row, column) {
    var cell = row.cells[column];
    if (!cell) { return { number: null, text: "" }; }
    var sort = cell.getAttribute("data-sort");
    return { number: sort === null ? null : parseFloat(sort), text: (cell.title || cell.textContent).trim() };
  }

  function compare(a, b) {
    // Empty cells last; numbers numerically; otherwise text with numbers inside compared by value.
    if (a.text === "" || b.text === "") { return (a.text === "") - (b.text === ""); }
    if (a.number !== null && b.number !== null) { return a.number - b.number; }
    return a.text.localeCompare(b.text, undefined, { numeric: true, sensitivity: "base" });
  }

  function sortTable(table, column, header) {
    var body = table.tBodies[0];
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var rows = Array.prototype.slice.call(body.rows);
    var keyed = rows.map(function (row, index) { return { row: row, key: cellKey(row, column), index: index }; });
    keyed.sort(function (x, y) {
      var empty = (x.key.text === "") - (y.key.text === "");
      if (empty !== 0) { return empty; }  // empty cells stay last in both directions
      var order = compare(x.key, y.key);
      return (ascending ? order : -order) || x.index - y.index;
    });
    keyed.forEach(function (item) { body.appendChild(item.row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  // A filter is text to find, or a numeric test: >x, >=x, <x, <=x, =x, a..b.
  function matcher(expression) {
    var text = expression.trim();
    if (text === "") { return null; }
    var range = text.match(/^(-?[\d.eE+-]+)\s*\.\.\s*(-?[\d.eE+-]+)$/);
    if (range) {
      var low = parseFloat(range[1]), high = parseFloat(range[2]);
      return function (key) { return key.number !== null && key.number >= low && key.number <= high; };
    }
    var test = text.match(/^(>=|<=|>|<|=)\s*(-?[\d.eE+-]+)$/);
    if (test) {
      var value = parseFloat(test[2]);
      var ops = {
        ">": function (n) { return n > value; }, ">=": function (n) { return n >= value; },
        "<": function (n) { return n < value; }, "<=": function (n) { return n <= value; },
        "=": function (n) { return n === value; }
      };
      return function (key) { return key.number !== null && ops[test[1]](key.number); };
    }
    var needle = text.toLowerCase();
    return function (key) { return key.text.toLowerCase().indexOf(needle) !== -1; };
  }

  function applyFilters(table) {
    var inputs = table.tHead.querySelectorAll("input[data-column]");
    var tests = [];
    Array.prototype.forEach.call(inputs, function (input) {
      var test = matcher(input.value);
      if (test) { tests.push({ column: parseInt(input.getAttribute("data-column"), 10), test: test }); }
    });
    var shown = 0, rows = table.tBodies[0].rows;
    Array.prototype.forEach.call(rows, function (row) {
      var keep = tests.every(function (t) { return t.test(cellKey(row, t.column)); });
      row.hidden = !keep;
      shown += keep ? 1 : 0;
    });
    var counter = document.querySelector('[data-count-for="' + table.id + '"]');
    if (counter) { counter.textContent = shown + " of " + rows.length + " rows shown"; }
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.data"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header) {
      header.addEventListener("click", function () {
        sortTable(table, parseInt(header.getAttribute("data-column"), 10), header);
      });
    });
    Array.prototype.forEach.call(table.tHead.querySelectorAll("input"), function (input) {
      input.addEventListener("input", function () { applyFilters(table); });
    });
    var reset = document.querySelector('[data-reset-for="' + table.id + '"]');
    if (reset) {
      reset.addEventListener("click", function () {
        Array.prototype.forEach.call(table.tHead.querySelectorAll("input"), function (input) { input.value = ""; });
        applyFilters(table);
      });
    }
    applyFilters(table);
  });

  var distance = document.getElementById("card-distance");
  var group = document.getElementById("card-group");
  function showCards() {
    var cards = document.querySelectorAll(".hotspot-card"), shown = 0;
    Array.prototype.forEach.call(cards, function (card) {
      var keep = (!distance.value || card.getAttribute("data-distance") === distance.value) &&
                 (!group.value || card.getAttribute("data-group") === group.value);
      card.hidden = !keep;
      shown += keep ? 1 : 0;
    });
    document.getElementById("card-count").textContent = shown + " of " + cards.length + " cards shown";
  }
  if (distance && group) {
    distance.addEventListener("change", showCards);
    group.addEventListener("change", showCards);
    showCards();
  }
}());
